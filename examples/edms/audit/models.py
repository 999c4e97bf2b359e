import uuid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


class AuditEntry(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=40)
    content_type = models.ForeignKey(ContentType, null=True, on_delete=models.SET_NULL)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200)
    # the UUID of the object the entry is about: not unique, entries about one object share it
    object_uuid = models.UUIDField(null=True, blank=True, db_index=True)
    changes = models.JSONField(default=dict)
