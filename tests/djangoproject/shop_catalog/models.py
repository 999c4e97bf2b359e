"""An app whose label has an underscore: ``shop_catalog.brand`` is table ``shop_catalog_brand``, which cannot
be split at its first underscore into label and model."""

from django.db import models


class Brand(models.Model):
    name = models.CharField(max_length=60)
    founded = models.DateField(null=True)


class BrandAlias(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=60)
