"""Question banks, questions with revisions, learner cards, review logs and mock exams.

A question's content lives in immutable ``QuestionRevision`` rows (the native YAML shape as
JSON plus its rendered HTML). Cards belong to the question, so editing a question never resets
a learner's schedule; every review log points at the revision it was answered on.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

QUESTION_TYPES = [
    ("single", "Single choice"),
    ("multiple", "Multiple response"),
    ("truefalse", "True/false"),
    ("match", "Keyword match"),
    ("order", "Ordering"),
]


class Bank(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_banks",
        help_text="Empty for the built-in starter bank.",
    )
    editors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="BankEditor", related_name="edited_banks", blank=True
    )
    is_published = models.BooleanField(default=False)
    is_default = models.BooleanField(
        default=False, help_text="Studied by every learner who has not chosen banks."
    )
    question_serial = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Bumped whenever a question is added; learners' cards are synced against it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class BankEditor(models.Model):
    bank = models.ForeignKey(Bank, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bank", "user"], name="one_editor_row")]

    def __str__(self) -> str:
        return f"{self.user} edits {self.bank}"


class BankSubscription(models.Model):
    """A published bank a learner chose to study."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bank_subscriptions"
    )
    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="subscriptions")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "bank"], name="one_subscription")]

    def __str__(self) -> str:
        return f"{self.user} studies {self.bank}"


class Question(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(max_length=120, help_text="Stable identifier within the bank.")
    type = models.CharField(max_length=12, choices=QUESTION_TYPES)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    current_revision = models.ForeignKey(
        "QuestionRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    topics = models.JSONField(default=list, help_text="Copied from the current revision.")
    difficulty = models.PositiveSmallIntegerField(default=2)
    position = models.PositiveIntegerField(default=0)
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["bank", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["bank", "key"], name="unique_key_in_bank")]
        indexes = [
            # The few questions of a bank learners do not study (drafts, archived): the review
            # queue leaves their cards out without joining every card to its question.
            models.Index(
                fields=["bank"],
                name="question_not_live",
                condition=~Q(status="published")
                | Q(is_archived=True)
                | Q(current_revision__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.bank.slug}/{self.key}"


class QuestionRevision(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    data = models.JSONField(help_text="The question in the native (YAML) shape.")
    rendered = models.JSONField(
        default=dict, help_text="Sanitized HTML of prompt, options, explanation and notes."
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["question", "number"]
        constraints = [
            models.UniqueConstraint(fields=["question", "number"], name="unique_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.question} r{self.number}"


class ReviewSettings(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_settings"
    )
    desired_retention = models.FloatField(
        default=0.9, validators=[MinValueValidator(0.70), MaxValueValidator(0.97)]
    )
    new_cards_per_day = models.PositiveIntegerField(default=20, validators=[MaxValueValidator(500)])
    learning_steps_minutes = models.JSONField(default=list, help_text="e.g. [1, 10]")
    relearning_steps_minutes = models.JSONField(default=list, help_text="e.g. [10]")
    synced_banks = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="Bank id → the bank's question_serial when this learner's cards were created.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(desired_retention__gte=0.70) & Q(desired_retention__lte=0.97),
                name="retention_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"Review settings of {self.user}"


class Card(models.Model):
    """One learner's FSRS memory state for one question.

    Like Anki, a learner has a card for every question of the banks they study, created up
    front in state NEW (``services_review.review_cards_sync``), so the review queue is two
    index scans with LIMIT: due cards (``card_due_queue``, state > NEW) and new cards in
    (bank, question) order (``card_new_queue``, state = NEW).
    """

    class State(models.IntegerChoices):
        # fsrs.State values; NEW means "never reviewed yet" (no fsrs card exists).
        NEW = 0, "New"
        LEARNING = 1, "Learning"
        REVIEW = 2, "Review"
        RELEARNING = 3, "Relearning"

    # No index of its own: every index of the card starts with the user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cards", db_index=False
    )
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="cards")
    # The question's bank, copied so new cards can be read in (bank, question) order from
    # an index. Cards go with their question (CASCADE above), so deleting a bank needs no
    # second cascade here.
    bank = models.ForeignKey(
        Bank, on_delete=models.DO_NOTHING, related_name="+", db_index=False, editable=False
    )
    state = models.PositiveSmallIntegerField(choices=State.choices, default=State.NEW)
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    stability = models.FloatField(null=True, blank=True)
    difficulty = models.FloatField(null=True, blank=True)
    due = models.DateTimeField()  # indexed per learner by card_due_queue
    last_review = models.DateTimeField(null=True, blank=True)
    reps = models.PositiveIntegerField(default=0)
    lapses = models.PositiveIntegerField(default=0)
    suspended = models.BooleanField(default=False)
    leech = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=0, help_text="Bumped on every update.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "question"], name="one_card")]
        indexes = [
            # bank and question ride along so counting due cards reads only the index.
            models.Index(
                fields=["user", "suspended", "due", "bank", "question"],
                name="card_due_queue",
                condition=Q(state__gt=0),
            ),
            models.Index(
                fields=["user", "suspended", "bank", "question"],
                name="card_new_queue",
                condition=Q(state=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.question}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.bank_id is None and self.question_id is not None:
            self.bank_id = self.question.bank_id
        super().save(*args, **kwargs)


class ReviewLog(models.Model):
    """Append-only: one row per answer. Undo sets ``voided_at``; rows are never deleted."""

    class Source(models.TextChoices):
        REVIEW = "review", "Review"
        EXAM = "exam", "Mock exam"
        LEECH_DRILL = "leech", "Contrast drill"

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="logs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="logs")
    revision = models.ForeignKey(QuestionRevision, on_delete=models.PROTECT, related_name="logs")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.REVIEW)
    rating = models.PositiveSmallIntegerField(help_text="fsrs.Rating: 1 Again … 4 Easy")
    correct = models.BooleanField()
    chosen = models.JSONField(help_text="The learner's answer, in the question's answer shape.")
    duration_ms = models.PositiveIntegerField(default=0)
    reviewed_at = models.DateTimeField(db_index=True)
    state_before = models.JSONField(help_text="The card's fields before this answer.")
    submission_id = models.CharField(
        max_length=64, help_text="Client token; the same answer submitted twice logs once."
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    new_card = models.BooleanField(
        default=False,
        editable=False,
        help_text="The card was NEW before this answer (state_before, copied on save).",
    )

    class Meta:
        ordering = ["reviewed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "submission_id"], name="one_log_per_submission")
        ]
        indexes = [
            models.Index(fields=["user", "reviewed_at"], name="log_user_time"),
            # Today's reviews and new cards, counted from the index alone on every review.
            models.Index(
                fields=["user", "reviewed_at", "new_card"],
                name="log_review_day",
                condition=Q(source="review", voided_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} rated {self.rating} on {self.question}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.new_card = (self.state_before or {}).get("state") == Card.State.NEW
        super().save(*args, **kwargs)


class KeywordDrill(models.Model):
    """A rapid keyword → {KMS, CloudHSM, both, neither} item."""

    class Answer(models.TextChoices):
        KMS = "kms", "AWS KMS"
        CLOUDHSM = "cloudhsm", "AWS CloudHSM"
        BOTH = "both", "Both"
        NEITHER = "neither", "Neither"

    keyword = models.CharField(max_length=200, unique=True)
    answer = models.CharField(max_length=10, choices=Answer.choices)
    why = models.TextField()
    topics = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.keyword


class KeywordAttempt(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    drill = models.ForeignKey(KeywordDrill, on_delete=models.CASCADE, related_name="attempts")
    chosen = models.CharField(max_length=10, choices=KeywordDrill.Answer.choices)
    correct = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="kw_attempt_user_time")]

    def __str__(self) -> str:
        return f"{self.user}: {self.drill} → {self.chosen}"


class Exam(models.Model):
    class Kind(models.TextChoices):
        SCS_C03 = "SCS-C03", "Security Specialty (SCS-C03)"
        SAP_C02 = "SAP-C02", "Solutions Architect Professional (SAP-C02)"
        CUSTOM = "custom", "Short custom exam"

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"
        TIMED_OUT = "timed_out", "Timed out"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exams"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    duration_minutes = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    deadline = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    raw_score = models.FloatField(null=True, blank=True)
    scaled_score = models.PositiveIntegerField(null=True, blank=True)
    passed = models.BooleanField(null=True)
    topic_breakdown = models.JSONField(default=dict)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} exam of {self.user}"


class ExamItem(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="exam_items")
    revision = models.ForeignKey(
        QuestionRevision, on_delete=models.PROTECT, related_name="exam_items"
    )
    option_order = models.JSONField(default=list, help_text="Shuffled option indexes shown.")
    answer = models.JSONField(null=True, blank=True)
    flagged = models.BooleanField(default=False)
    correct = models.BooleanField(null=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["exam", "position"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "position"], name="unique_exam_position")
        ]

    def __str__(self) -> str:
        return f"{self.exam} #{self.position}"
