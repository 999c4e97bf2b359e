"""A shop catalogue whose models use every construct of a Django schema that a restore must handle.

Its label has no underscore, so that each construct is tested on its own; shop_catalog tests that one.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from taggit.managers import TaggableManager
from treebeard.mp_tree import MP_Node


class UuidKeyManager(models.Manager["Supplier"]):
    def get_by_natural_key(self, key: str) -> "Supplier":
        return self.get(uuid=key)


class Supplier(models.Model):
    """Natural key: its UUID alone, as text (a common pattern)."""

    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    website_ip = models.GenericIPAddressField(null=True, blank=True)

    objects = UuidKeyManager()

    def natural_key(self) -> tuple[str]:
        return (str(self.uuid),)


class Category(MP_Node):
    """A treebeard tree (materialised path), no natural key: referenced by pk."""

    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=60)
    node_order_by = ["name"]


class CodeManager(models.Manager["Warehouse"]):
    def get_by_natural_key(self, code: str) -> "Warehouse":
        return self.get(code=code)


class Warehouse(models.Model):
    code = models.CharField(max_length=12, unique=True)
    city = models.CharField(max_length=60)
    opened = models.DateField()

    objects = CodeManager()

    def natural_key(self) -> tuple[str]:
        return (self.code,)


class SkuManager(models.Manager["Product"]):
    def get_by_natural_key(self, sku: str) -> "Product":
        return self.get(sku=sku)


class SupplierContact(models.Model):
    """A nullable FK to a model whose natural key is its UUID."""

    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    name = models.CharField(max_length=100)


class Coupon(models.Model):
    """A custom ``db_table``: not ``catalog_coupon``."""

    code = models.CharField(max_length=20, unique=True)
    percent = models.PositiveSmallIntegerField()

    class Meta:
        db_table = "legacy_coupons"


class Product(models.Model):
    """A natural key, a FK into a tree, a nullable self FK, a symmetrical self M2M, taggit tags."""

    sku = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(default="No description yet.")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    color = models.CharField(max_length=20, default="black")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    related = models.ManyToManyField("self", blank=True)
    tags = TaggableManager(blank=True)

    objects = SkuManager()

    def natural_key(self) -> tuple[str]:
        return (self.sku,)


class FeaturedProduct(Product):
    """A proxy: its own label, the concrete model's table."""

    class Meta:
        proxy = True


class DigitalProduct(Product):
    """Multi-table inheritance: ``product_ptr`` is its pk and a FK to the parent row."""

    download_url = models.URLField()
    size_bytes = models.PositiveBigIntegerField()

    objects = SkuManager()

    def natural_key(self) -> tuple[str]:
        return (self.sku,)

    natural_key.dependencies = ["catalog.product"]  # type: ignore[attr-defined]


class Shelf(models.Model):
    """A FK to a non-pk unique field (``to_field``): the column holds the warehouse's code."""

    warehouse = models.ForeignKey(Warehouse, to_field="code", on_delete=models.CASCADE, related_name="shelves")
    label = models.CharField(max_length=20)


class Banner(models.Model):
    """A FK without a database constraint (``db_constraint=False``): still a ``section_id`` column."""

    section = models.ForeignKey(Category, null=True, on_delete=models.DO_NOTHING, db_constraint=False)
    text = models.CharField(max_length=80)


class StockLevel(models.Model):
    """Django 5.2 composite primary key: a foreign key and a plain column."""

    pk = models.CompositePrimaryKey("warehouse_id", "bin")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE)
    bin = models.PositiveSmallIntegerField()
    quantity = models.PositiveIntegerField(default=0)


class EmployeeManager(models.Manager["Employee"]):
    def get_by_natural_key(self, badge: str, warehouse_code: str) -> "Employee":
        return self.get(badge=badge, warehouse__code=warehouse_code)


class Employee(models.Model):
    """A natural key with a FK part, a self FK, a symmetrical self M2M, a one-to-one to a user."""

    badge = models.CharField(max_length=10)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="employees")
    name = models.CharField(max_length=100)
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    colleagues = models.ManyToManyField("self", blank=True)
    follows = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="followers")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    objects = EmployeeManager()

    class Meta:
        unique_together = [("badge", "warehouse")]

    def natural_key(self) -> tuple[str, ...]:
        return (self.badge, *self.warehouse.natural_key())

    natural_key.dependencies = ["catalog.warehouse"]  # type: ignore[attr-defined]


class OrderManager(models.Manager["Order"]):
    def get_by_natural_key(self, key: str) -> "Order":
        return self.get(uuid=key)


class Order(models.Model):
    """UUID natural key, an M2M through a model with extra columns."""

    uuid = models.UUIDField(unique=True, default=uuid.uuid4)
    placed_at = models.DateTimeField()
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    products = models.ManyToManyField(Product, through="OrderLine", related_name="orders")
    notes = models.TextField(null=True, blank=True)

    objects = OrderManager()

    def natural_key(self) -> tuple[str]:
        return (str(self.uuid),)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.PositiveSmallIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)


class AuditEntry(models.Model):
    """A generic foreign key, and a soft reference: another row's UUID in a non-unique column."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    object_uuid = models.UUIDField(null=True, blank=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=20, choices=[("create", "create"), ("change", "change")])
    message = models.TextField(default="")
    at = models.DateTimeField()


class Specimen(models.Model):
    """Every field type, nullable and not."""

    big = models.BigIntegerField()
    small = models.SmallIntegerField(default=0)
    positive = models.PositiveIntegerField()
    positive_small = models.PositiveSmallIntegerField()
    positive_big = models.PositiveBigIntegerField()
    ratio = models.FloatField()
    ratio_null = models.FloatField(null=True)
    amount = models.DecimalField(max_digits=12, decimal_places=4)
    amount_null = models.DecimalField(max_digits=12, decimal_places=4, null=True)
    flag = models.BooleanField(default=False)
    flag_null = models.BooleanField(null=True)
    day = models.DateField()
    day_null = models.DateField(null=True)
    time = models.TimeField()
    time_null = models.TimeField(null=True)
    moment = models.DateTimeField()
    moment_null = models.DateTimeField(null=True)
    span = models.DurationField(default=timedelta(hours=1))
    span_null = models.DurationField(null=True)
    token = models.UUIDField(default=uuid.uuid4)
    token_null = models.UUIDField(null=True)
    address = models.GenericIPAddressField()
    address_null = models.GenericIPAddressField(null=True)
    blob = models.BinaryField()
    blob_null = models.BinaryField(null=True)
    document = models.JSONField(default=dict)
    document_null = models.JSONField(null=True)
    slug = models.SlugField()
    email = models.EmailField()
    text = models.TextField(default="default text")
    text_null = models.TextField(null=True)
    title = models.CharField(max_length=50)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("9.99"))
