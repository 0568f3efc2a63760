"""A small LearnDash academy on the contract site, shared by the LearnDash site tests (connect, import, adopt,
verify, the admin's browser tests): courses of every access mode, steps, a group, users enrolled long ago."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from membersync.connectors.learndash.connect import learndash_connect
from membersync.people.models import Connection

BEFORE = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)  # when the old plugin enrolled the students
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Academy:
    site: object
    intro: int
    advanced: int
    open_course: int
    team: int
    lesson: int
    topic: int
    quiz: int
    ada: int  # enrolled in intro and advanced long ago; a MemberSync member by email
    bob: int  # enrolled in intro; member of the team group (which has advanced); leader of the team
    cy: int  # enrolled in intro; no member has her email


def academy(site) -> Academy:
    site.set_time(BEFORE)
    intro = site.course(title="Intro to Pottery", expire_access=True, expire_access_days=365)
    advanced = site.course(title="Advanced Glazes", course_start_date=datetime(2025, 1, 1, tzinfo=UTC))
    open_course = site.course(title="Free Sampler", price_type="open")
    lesson = site.step(intro, "lesson", title="Clay")
    topic = site.step(intro, "topic", title="Wedging", parent=lesson)
    quiz = site.step(intro, "quiz", title="Clay quiz")
    team = site.group(title="Studio Team", courses=[advanced])
    ada = site.user(email="ada@example.com", first_name="Ada")
    bob = site.user(email="bob@example.com")
    cy = site.user(email="cy@example.com")
    for user, course in ((ada, intro), (ada, advanced), (bob, intro), (cy, intro)):
        site.enroll(user, course)
    site.join_group(bob, team)
    site.join_group(bob, team, leader=True)
    site.set_time(NOW)
    return Academy(site, intro, advanced, open_course, team, lesson, topic, quiz, ada, bob, cy)


def connect(site, name: str = "academy") -> Connection:
    return learndash_connect(name=name, url=site.url, user=site.username, app_password=site.app_password).connection
