"""A small CMS in the way Wagtail builds one: a treebeard page tree, multi-table page types, taggit tags
on a page type, comments by generic relation."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from taggit.managers import TaggableManager
from treebeard.mp_tree import MP_Node


class Page(MP_Node):
    title = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120)
    live = models.BooleanField(default=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")


class ArticlePage(Page):
    body = models.TextField()
    published = models.DateField(null=True)
    tags = TaggableManager(blank=True)


class EventPage(Page):
    starts_at = models.DateTimeField()
    venue = models.CharField(max_length=100, default="Main hall")
    speakers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="talks")


class Comment(models.Model):
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.TextField()
