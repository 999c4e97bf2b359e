"""Fill the EDMS with deterministic business data, sized by --documents.

About 8 objects per document: users, user roles, documents (with parents, related
documents, tags and a ``current_version`` cycle), versions with media files,
workflows, transitions and audit entries.
"""

import hashlib
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from audit.models import AuditEntry
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandParser
from documents.models import Document, DocumentType, DocumentVersion, Tag
from workflows.models import WorkflowInstance, WorkflowTransition, WorkflowType

from accounts.models import Role, User, UserRole

BATCH = 2000


class Command(BaseCommand):
    help = "Create deterministic demo data: about 8 objects per document."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--documents", type=int, default=60)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--media-every", type=int, default=10, help="every Nth version has a file")

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])
        n_docs: int = options["documents"]
        start = datetime(2023, 1, 2, 8, 0, tzinfo=UTC)

        def uid() -> uuid.UUID:
            return uuid.UUID(int=rng.getrandbits(128), version=4)

        def moment() -> datetime:
            millis = rng.randrange(0, 600 * 24 * 3600 * 1000)
            return start + timedelta(milliseconds=millis)

        roles = list(Role.objects.all())
        roles.append(Role.objects.create(uuid=uid(), name="QA Lead", description="Quality lead"))
        doc_types = list(DocumentType.objects.all())
        wf_types = list(WorkflowType.objects.all())
        n_users = max(5, n_docs // 3)
        users = User.objects.bulk_create(
            User(
                uuid=uid(),
                username=f"user{i:05d}",
                email=f"user{i:05d}@edms.example",
                first_name=rng.choice(["Ada", "Grace", "Alan", "Edsger", "Barbara"]),
                last_name=rng.choice(["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov"]),
                password="pbkdf2_sha256$600000$demo$notarealhash=",
                department=rng.choice(["QA", "R&D", "Production", ""]),
                date_joined=moment(),
                is_active=rng.random() > 0.1,
            )
            for i in range(n_users)
        )
        admin = User.objects.get(username="admin")
        admin.email = "qa.admin@edms.example"  # changed after installation: the seed does not know it
        admin.first_name = "Quality"
        admin.save(update_fields=["email", "first_name"])
        user_roles = []
        for user in users:
            for role in rng.sample(roles, rng.randint(1, 2)):
                user_roles.append(UserRole(user=user, role=role, assigned_at=moment(), assigned_by=admin))
        UserRole.objects.bulk_create(user_roles, batch_size=BATCH)
        group = Group.objects.create(name="Document control")
        group.permissions.set(Permission.objects.filter(content_type__app_label="documents"))
        for user in users[::4]:
            user.groups.add(group)
        tags = Tag.objects.bulk_create(Tag(name=f"tag-{i}") for i in range(12))
        docs = Document.objects.bulk_create(
            (
                Document(
                    uuid=uid(),
                    number=f"{rng.choice(doc_types).code}-2024-{i:05d}",
                    title=f"Procedure {i} for {rng.choice(['cleaning', 'testing', 'release'])}",
                    document_type=rng.choice(doc_types),
                    owner=rng.choice(users),
                    metadata={"site": rng.choice(["Basel", "Lyon"]), "pages": rng.randint(1, 90)},
                    is_controlled=rng.random() > 0.2,
                    retention_years=Decimal(rng.choice(["10.00", "15.50", "25.00"])),
                    effective_date=date(2024, 1, 1) + timedelta(days=rng.randrange(365))
                    if rng.random() > 0.3
                    else None,
                    created_at=moment(),
                )
                for i in range(n_docs)
            ),
            batch_size=BATCH,
        )
        for i, doc in enumerate(docs):
            if i and rng.random() < 0.3:
                doc.parent = docs[rng.randrange(i)]
        Document.objects.bulk_update(docs, ["parent"], batch_size=BATCH)
        tag_links = [
            Document.tags.through(document=doc, tag=tag) for doc in docs for tag in rng.sample(tags, rng.randint(0, 3))
        ]
        Document.tags.through.objects.bulk_create(tag_links, batch_size=BATCH)
        related = set()
        for doc in docs[1:]:
            if rng.random() < 0.2:
                other = rng.choice(docs)
                if other.pk != doc.pk:
                    related.add((doc.pk, other.pk))
                    related.add((other.pk, doc.pk))
        Document.related.through.objects.bulk_create(
            (Document.related.through(from_document_id=a, to_document_id=b) for a, b in sorted(related)),
            batch_size=BATCH,
        )
        media_root = Path(settings.MEDIA_ROOT)
        versions = []
        counter = 0
        for doc in docs:
            for number in range(1, rng.randint(1, 3) + 1):
                counter += 1
                version = DocumentVersion(
                    uuid=uid(),
                    document=doc,
                    version=number,
                    created_by=rng.choice(users),
                    created_at=moment(),
                    review_time=time(rng.randrange(24), rng.randrange(60)),
                )
                if counter % options["media_every"] == 0:
                    content = f"{doc.number} version {number}\n".encode() * 20
                    name = f"documents/{doc.number}-v{number}.txt"
                    (media_root / "documents").mkdir(parents=True, exist_ok=True)
                    (media_root / name).write_bytes(content)
                    version.file.name = name
                    version.sha256 = hashlib.sha256(content).hexdigest()
                versions.append(version)
        DocumentVersion.objects.bulk_create(versions, batch_size=BATCH)
        latest = {v.document_id: v for v in versions}
        for doc in docs:
            doc.current_version = latest[doc.pk]
        Document.objects.bulk_update(docs, ["current_version"], batch_size=BATCH)
        instances = WorkflowInstance.objects.bulk_create(
            (
                WorkflowInstance(
                    uuid=uid(),
                    workflow_type=rng.choice(wf_types),
                    document=doc,
                    state="draft",
                    started_by=rng.choice(users),
                    started_at=moment(),
                )
                for doc in docs
                if rng.random() < 0.7
            ),
            batch_size=BATCH,
        )
        transitions = []
        for instance in instances:
            states = instance.workflow_type.states
            for before, after in pairwise(states):
                if rng.random() < 0.6:
                    transitions.append(
                        WorkflowTransition(
                            instance=instance,
                            from_state=before,
                            to_state=after,
                            actor=rng.choice(users),
                            at=moment(),
                            comment=rng.choice(["", "ok", "see remarks ✓"]),
                        )
                    )
                    instance.state = after
        WorkflowInstance.objects.bulk_update(instances, ["state"], batch_size=BATCH)
        WorkflowTransition.objects.bulk_create(transitions, batch_size=BATCH)
        doc_ct = ContentType.objects.get_for_model(Document)
        AuditEntry.objects.bulk_create(
            (
                AuditEntry(
                    uuid=uid(),
                    at=moment(),
                    actor=rng.choice(users) if rng.random() > 0.05 else None,
                    action=rng.choice(["create", "update", "view"]),
                    content_type=doc_ct,
                    object_id=str(doc.pk),
                    object_repr=doc.number,
                    object_uuid=doc.uuid,
                    changes={"title": [None, doc.title]} if rng.random() < 0.5 else {},
                )
                for doc in docs
                for _ in range(rng.randint(1, 3))
            ),
            batch_size=BATCH,
        )
