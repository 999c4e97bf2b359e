import uuid
from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class CategoryManager(models.Manager["Category"]):
    def get_by_natural_key(self, code: str) -> "Category":
        return self.get(code=code)


class Category(models.Model):
    code = models.SlugField(unique=True)
    title = models.CharField(max_length=80, default="untitled")

    objects = CategoryManager()

    class Meta:
        db_table = "catalogue_category"

    def natural_key(self) -> tuple[str]:
        return (self.code,)


class ItemManager(models.Manager["Item"]):
    def get_by_natural_key(self, key: str) -> "Item":
        return self.get(uuid=key)


class Item(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    sku = models.CharField(max_length=20, unique=True)
    category = models.ForeignKey(Category, to_field="code", on_delete=models.PROTECT)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    attributes = models.JSONField(default=dict)

    objects = ItemManager()

    def natural_key(self) -> tuple[str]:
        return (str(self.uuid),)


class VariantManager(models.Manager["Variant"]):
    def get_by_natural_key(self, *key: Any) -> "Variant":
        raise NotImplementedError


class Variant(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE)
    size = models.CharField(max_length=8)

    objects = VariantManager()

    class Meta:
        unique_together = (("item", "size"),)

    def natural_key(self) -> tuple[str, ...]:
        return (*self.item.natural_key(), self.size)


class CheapItem(Item):
    class Meta:
        proxy = True


class DigitalItem(Item):
    download_url = models.URLField()


class Note(models.Model):
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.CharField(max_length=64)
    target = GenericForeignKey("content_type", "object_id")
    text = models.TextField()
    tags = models.ManyToManyField(Category, blank=True)
    see_also = models.ManyToManyField("self", blank=True)  # symmetrical: Django's default for "self"
    replies = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="replied_to")
