"""The portal's forms. They only check the shape of what was typed; the services decide what is allowed."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation

from .csv_people import IMPORTABLE_ROLES

ROLE_CHOICES = [(role, role.capitalize()) for role in IMPORTABLE_ROLES]
MAX_CSV_BYTES = 10 * 1024 * 1024


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    first_name = forms.CharField(label="First name", max_length=100, required=False)
    last_name = forms.CharField(label="Last name", max_length=100, required=False)
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES, initial="member")
    hold_seat_type = forms.ChoiceField(
        label="Hold a seat for them",
        required=False,
        help_text="The seat is kept for this person until they accept or the invitation expires.",
    )

    def __init__(self, *args, seat_type_choices: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hold_seat_type"].choices = [("", "No seat")] + list(seat_type_choices)


class SeatAssignForm(forms.Form):
    member = forms.ChoiceField(label="Person")
    seat_type = forms.ChoiceField(label="Seat type")

    def __init__(self, *args, member_choices=(), seat_type_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = list(member_choices)
        self.fields["seat_type"].choices = list(seat_type_choices)


class SeatReleaseForm(forms.Form):
    member = forms.CharField(widget=forms.HiddenInput)
    seat_type = forms.CharField(widget=forms.HiddenInput)


class SeatMoveForm(forms.Form):
    from_member = forms.ChoiceField(label="Take the seat from")
    to_member = forms.ChoiceField(label="Give it to")
    seat_type = forms.ChoiceField(label="Seat type")

    def __init__(self, *args, holder_choices=(), member_choices=(), seat_type_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_member"].choices = list(holder_choices)
        self.fields["to_member"].choices = list(member_choices)
        self.fields["seat_type"].choices = list(seat_type_choices)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("from_member") and cleaned.get("from_member") == cleaned.get("to_member"):
            self.add_error("to_member", "Choose someone other than the person who holds the seat now.")
        return cleaned


class PeopleImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: email, first_name, last_name, role (member or manager; empty means member), and "
        "optionally seat_type.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB.")
        return upload


class SetPasswordForm(forms.Form):
    """A new person's password, checked with the site's password validators."""

    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            try:
                password_validation.validate_password(first)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class RoleChangeForm(forms.Form):
    """One person's new role. Ownership is not a choice here: it moves with the transfer form."""

    member = forms.CharField(widget=forms.HiddenInput)
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES)


class OwnershipTransferForm(forms.Form):
    to_member = forms.ChoiceField(label="New owner")
    confirm = forms.BooleanField(
        label="I understand: the new owner takes over billing and ownership, and I stay on as a manager.",
        error_messages={"required": "Tick this box to confirm that you hand over the ownership."},
    )

    def __init__(self, *args, member_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_member"].choices = [("", "Choose a person")] + list(member_choices)
