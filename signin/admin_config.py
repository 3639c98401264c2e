from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """django.contrib.admin, its site being ``signin.staff.StaffAdminSite`` (staff's second
    factor)."""

    default_site = "signin.staff.StaffAdminSite"
