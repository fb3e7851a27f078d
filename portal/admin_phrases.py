# ruff: noqa: E501  (each msgid is copied exactly from Django; a split string would read the same, a reflowed one would not)
"""Django admin phrases the project's catalogue translates again.

Django builds its admin phrases from a model's verbose name ("Выберите %s для изменения"),
which in Russian needs the noun in another case than the one a verbose name carries.
locale/ru/LC_MESSAGES/django.po rephrases them ("Выберите для изменения: %s") and, as the
project's catalogue (LOCALE_PATHS), takes precedence over Django's own. They are marked
here, copied exactly from Django and allauth, so that makemessages keeps them.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

ADMIN_PHRASES = (
    gettext_noop("Delete selected %(verbose_name_plural)s"),
    gettext_noop("Cannot delete %(name)s"),
    gettext_noop("Add another %(verbose_name)s"),
    gettext_noop("The %(name)s “%(obj)s” was deleted successfully."),
    gettext_noop("%(name)s with ID “%(key)s” doesn’t exist. Perhaps it was deleted?"),
    gettext_noop("Add %s"),
    gettext_noop("Change %s"),
    gettext_noop("View %s"),
    gettext_noop("Add %(name)s"),
    gettext_noop(
        "Deleting the %(object_name)s '%(escaped_object)s' would result in deleting related objects, but your account doesn't have permission to delete the following types of objects:"
    ),
    gettext_noop(
        "Deleting the %(object_name)s '%(escaped_object)s' would require deleting the following protected related objects:"
    ),
    gettext_noop(
        'Are you sure you want to delete the %(object_name)s "%(escaped_object)s"? All of the following related items will be deleted:'
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would result in deleting related objects, but your account doesn't have permission to delete the following types of objects:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would require deleting the following protected related objects:"
    ),
    gettext_noop(
        "Are you sure you want to delete the selected %(objects_name)s? All of the following objects and their related items will be deleted:"
    ),
    gettext_noop("Select %s"),
    gettext_noop("Select %s to change"),
    gettext_noop("Select %s to view"),
    gettext_noop("Select all %(total_count)s %(module_name)s"),
    gettext_noop("email confirmation"),
    gettext_noop("email confirmations"),
)

ADMIN_PLURAL_PHRASES = (
    ngettext_lazy("%(count)s %(name)s was changed successfully.", "%(count)s %(name)s were changed successfully.", 1),
)
