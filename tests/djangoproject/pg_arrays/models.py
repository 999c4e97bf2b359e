"""PostgreSQL's ``ArrayField`` (installed only when the project runs on PostgreSQL): ``dumpdata`` writes an
array as a JSON text of its items' own text forms (``'["1", "2"]'``), hand-written fixtures give a JSON list."""

from django.contrib.postgres.fields import ArrayField
from django.db import models


class SurveyManager(models.Manager["Survey"]):
    def get_by_natural_key(self, name: str) -> "Survey":
        return self.get(name=name)


class Survey(models.Model):
    name = models.CharField(max_length=40, unique=True)
    objects = SurveyManager()

    def natural_key(self) -> tuple[str]:
        return (self.name,)


class Reading(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="readings")
    values = ArrayField(models.IntegerField())
    labels = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    grid = ArrayField(ArrayField(models.IntegerField(null=True)), null=True)
    amounts = ArrayField(models.DecimalField(max_digits=8, decimal_places=2), null=True)
    moments = ArrayField(models.DateTimeField(), null=True)
    days = ArrayField(models.DateField(), null=True)
    tokens = ArrayField(models.UUIDField(), null=True)
    flags = ArrayField(models.BooleanField(), null=True)
