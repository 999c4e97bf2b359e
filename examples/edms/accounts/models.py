import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    department = models.CharField(max_length=100, blank=True)


class RoleManager(models.Manager["Role"]):
    def get_by_natural_key(self, name: str) -> "Role":
        return self.get(name=name)


class Role(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_system = models.BooleanField(default=False)

    objects = RoleManager()

    def natural_key(self) -> tuple[str]:
        return (self.name,)


class UserRoleManager(models.Manager["UserRole"]):
    def get_by_natural_key(self, username: str, role_name: str) -> "UserRole":
        return self.get(user__username=username, role__name=role_name)


class UserRole(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="user_roles")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="user_roles")
    assigned_at = models.DateTimeField()
    assigned_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = UserRoleManager()

    class Meta:
        unique_together = [("user", "role")]

    def natural_key(self) -> tuple[str, ...]:
        return self.user.natural_key() + self.role.natural_key()

    natural_key.dependencies = ["accounts.user", "accounts.role"]  # type: ignore[attr-defined]
