import uuid

from django.conf import settings
from django.db import models


class WorkflowTypeManager(models.Manager["WorkflowType"]):
    def get_by_natural_key(self, code: str) -> "WorkflowType":
        return self.get(code=code)


class WorkflowType(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    states = models.JSONField(default=list)

    objects = WorkflowTypeManager()

    def natural_key(self) -> tuple[str]:
        return (self.code,)


class WorkflowInstanceManager(models.Manager["WorkflowInstance"]):
    def get_by_natural_key(self, uuid: str) -> "WorkflowInstance":
        return self.get(uuid=uuid)


class WorkflowInstance(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    workflow_type = models.ForeignKey(WorkflowType, on_delete=models.PROTECT)
    document = models.ForeignKey("documents.Document", on_delete=models.CASCADE)
    state = models.CharField(max_length=40)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    started_at = models.DateTimeField()

    objects = WorkflowInstanceManager()

    def natural_key(self) -> tuple[str]:
        return (str(self.uuid),)


class WorkflowTransition(models.Model):
    instance = models.ForeignKey(WorkflowInstance, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=40)
    to_state = models.CharField(max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    at = models.DateTimeField()
    comment = models.TextField(blank=True)
