"""What running the site keeps: the re-reconciles after a plan change. (When each worker was last seen is the
ops app's WorkerHeartbeat.)"""

from django.db import models


class PlanChangeJob(models.Model):
    """After a plan's (or a seat or license type's) grants changed: the members whose access changes, re-reconciled
    by the worker in batches, with the change's event as the ledger's cause."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    STATUS_CHOICES = [(s, s) for s in (QUEUED, RUNNING, DONE, FAILED)]

    template = models.CharField(max_length=200, help_text='what changed: "plan Gold", "seat type Standard"')
    event = models.ForeignKey("sync.Event", null=True, on_delete=models.SET_NULL, related_name="+")
    member_ids = models.JSONField(default=list, help_text="the members whose access the change touches (pks)")
    summary = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=8, choices=STATUS_CHOICES, default=QUEUED)
    requested_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "re-reconcile after a plan change"
        verbose_name_plural = "re-reconciles after plan changes"
        ordering = ["-pk"]

    def __str__(self):
        return f"{self.template}: {self.done} of {self.total} members ({self.status})"
