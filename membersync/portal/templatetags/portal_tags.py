from django import template

register = template.Library()


@register.simple_tag
def field_widget(bound_field):
    """The field's input, tied to its help text and its errors so screen readers announce them with it."""
    described_by = []
    if bound_field.help_text:
        described_by.append(f"{bound_field.auto_id}-help")
    if bound_field.errors:
        described_by.append(f"{bound_field.auto_id}-errors")
    attrs = {}
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
    return bound_field.as_widget(attrs=attrs)


@register.filter
def get_item(mapping, key):
    return mapping.get(key, ()) if mapping else ()
