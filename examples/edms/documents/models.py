import uuid

from django.conf import settings
from django.db import models


class DocumentTypeManager(models.Manager["DocumentType"]):
    def get_by_natural_key(self, code: str) -> "DocumentType":
        return self.get(code=code)


class DocumentType(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    review_period = models.DurationField()

    objects = DocumentTypeManager()

    def natural_key(self) -> tuple[str]:
        return (self.code,)


class TagManager(models.Manager["Tag"]):
    def get_by_natural_key(self, name: str) -> "Tag":
        return self.get(name=name)


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    objects = TagManager()

    def natural_key(self) -> tuple[str]:
        return (self.name,)


class DocumentManager(models.Manager["Document"]):
    def get_by_natural_key(self, number: str) -> "Document":
        return self.get(number=number)


class Document(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    number = models.CharField(max_length=40, unique=True)
    title = models.CharField(max_length=200)
    document_type = models.ForeignKey(DocumentType, on_delete=models.PROTECT)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    current_version = models.ForeignKey(
        "DocumentVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    related = models.ManyToManyField("self", blank=True)
    tags = models.ManyToManyField(Tag, blank=True)
    metadata = models.JSONField(default=dict)
    is_controlled = models.BooleanField(default=True)
    retention_years = models.DecimalField(max_digits=5, decimal_places=2)
    effective_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()

    objects = DocumentManager()

    def natural_key(self) -> tuple[str]:
        return (self.number,)


class DocumentVersionManager(models.Manager["DocumentVersion"]):
    def get_by_natural_key(self, number: str, version: int) -> "DocumentVersion":
        return self.get(document__number=number, version=version)


class DocumentVersion(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    file = models.FileField(upload_to="documents/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    review_time = models.TimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField()

    objects = DocumentVersionManager()

    class Meta:
        unique_together = [("document", "version")]

    def natural_key(self) -> tuple[str | int, ...]:
        return self.document.natural_key() + (self.version,)

    natural_key.dependencies = ["documents.document"]  # type: ignore[attr-defined]
