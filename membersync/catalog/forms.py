"""The admin's forms for what a template grants: its fields, and one row per grant rule. They read and write the
shapes catalog.services takes (a length spec, a list of grant mappings)."""

from __future__ import annotations

from django import forms

from membersync.access.rules import FIXED, SPECIFIC, SUBSCRIPTION, UNLIMITED

from .models import LENGTH_CHOICES, AccessRule, Course, Group, LicenseType, Plan

OPENS = [
    ("now", "immediately"),
    ("after", "after a delay (drip)"),
    ("on", "on a date"),
    ("trial", "when the trial ends (plus any delay)"),
]
TARGETS = [("course", "course"), ("group", "LearnDash group"), ("group_leader", "leader of a LearnDash group")]


class RuleForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    target_kind = forms.ChoiceField(choices=TARGETS, label="grants")
    course = forms.ModelChoiceField(Course.objects.all(), required=False, to_field_name="external_id")
    group = forms.ModelChoiceField(Group.objects.all(), required=False, to_field_name="external_id")
    opens = forms.ChoiceField(choices=OPENS, initial="now")
    after = forms.CharField(required=False, help_text='e.g. "7 days", "2 weeks", "1 month"', max_length=32)
    on_date = forms.DateTimeField(required=False, label="date", help_text="in the site's time zone")

    def spec(self) -> dict | None:
        data = self.cleaned_data
        if not data or data.get("DELETE"):
            return None
        kind = data["target_kind"]
        chosen = data.get("course") if kind == "course" else data.get("group")
        spec: dict = {kind: chosen.external_id if chosen else ""}
        if data.get("id"):
            spec["id"] = data["id"]
        if data["opens"] == "after" or (data["opens"] == "trial" and data.get("after")):
            spec["after"] = data.get("after") or ""
        if data["opens"] == "on":
            spec["on"] = data.get("on_date") or ""
        if data["opens"] == "trial":
            spec["after_trial"] = True
        return spec

    @staticmethod
    def initial_of(rule: AccessRule) -> dict:
        opens = "trial" if rule.after_trial else "on" if rule.on_date else "after" if rule.after else "now"
        return {
            "id": rule.pk,
            "target_kind": rule.target_kind,
            "course": rule.course.external_id if rule.course else None,
            "group": rule.group.external_id if rule.group else None,
            "opens": opens,
            "after": rule.after,
            "on_date": rule.on_date,
        }


RuleFormSet = forms.formset_factory(RuleForm, extra=2, can_delete=True)


class TemplateForm(forms.Form):
    external_id = forms.CharField(label="id", max_length=64, help_text="A short id: fixed once saved.")
    name = forms.CharField(max_length=200)


class LengthForm(TemplateForm):
    length_kind = forms.ChoiceField(
        choices=LENGTH_CHOICES, label="access length", help_text=Plan._meta.get_field("length_kind").help_text
    )
    length_duration = forms.CharField(required=False, label="length", help_text='For "specific": e.g. "1 year".')
    fixed_start = forms.DateTimeField(required=False, help_text='For "fixed", in the site\'s time zone.')
    fixed_end = forms.DateTimeField(required=False, help_text='For "fixed", in the site\'s time zone.')

    def length(self):
        data = self.cleaned_data
        kind = data["length_kind"]
        if kind == SPECIFIC:
            return data.get("length_duration") or ""
        if kind == FIXED:
            return {"from": data.get("fixed_start"), "until": data.get("fixed_end")}
        return kind


class PlanForm(LengthForm):
    on_hold_grace = forms.CharField(
        required=False, help_text=Plan._meta.get_field("on_hold_grace").help_text, max_length=32
    )
    product_ids = forms.CharField(
        required=False, label="store products", help_text="The WooCommerce product ids that sell it, comma-separated."
    )


class LicenseTypeForm(LengthForm):
    length_kind = forms.ChoiceField(
        choices=[c for c in LENGTH_CHOICES if c[0] != SUBSCRIPTION], label="access length", initial=UNLIMITED
    )


def template_initial(template) -> dict:
    initial = {"external_id": template.external_id, "name": template.name}
    if isinstance(template, Plan | LicenseType):
        initial.update(
            length_kind=template.length_kind,
            length_duration=template.length_duration,
            fixed_start=template.fixed_start,
            fixed_end=template.fixed_end,
        )
    if isinstance(template, Plan):
        initial.update(on_hold_grace=template.on_hold_grace, product_ids=", ".join(map(str, template.product_ids)))
    return initial
