"""Departments, employees and the history of each employment."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import (
    MONEY,
    Base,
    check_in,
    created_at_column,
    id_column,
    org_column,
    version_column,
)
from app.models.states import EMPLOYEE_STATUSES, EMPLOYMENT_EVENT_KINDS


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        CheckConstraint("parent_id IS DISTINCT FROM id", name="not_own_parent"),
        Index(None, "org_id", "name", "id"),
        Index(None, "parent_id"),
        Index(None, "head_id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("departments.id", ondelete="RESTRICT"))
    # departments.head_id and employees.department_id reference each other; the
    # head is added after both tables exist.
    head_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("employees.id", ondelete="SET NULL", use_alter=True)
    )
    created_at: Mapped[datetime] = created_at_column()


class Employee(Base):
    __tablename__ = "employees"
    __table_args__ = (
        UniqueConstraint("org_id", "number"),
        UniqueConstraint("org_id", "email"),
        CheckConstraint(check_in("status", EMPLOYEE_STATUSES), name="status_known"),
        CheckConstraint("salary >= 0", name="salary_not_negative"),
        CheckConstraint("manager_id IS DISTINCT FROM id", name="not_own_manager"),
        CheckConstraint("ended_on IS NULL OR ended_on >= hired_on", name="ends_after_hire"),
        CheckConstraint("(status IN ('terminated', 'retired')) = (ended_on IS NOT NULL)", name="ended_iff_gone"),
        Index(None, "org_id", "last_name", "first_name", "id"),
        Index(None, "org_id", "hired_on", "id"),
        Index(None, "org_id", "status"),
        Index(None, "department_id"),
        Index(None, "manager_id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(120), nullable=False)
    department_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("departments.id", ondelete="RESTRICT"))
    manager_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("employees.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="onboarding")
    hired_on: Mapped[date] = mapped_column(Date, nullable=False)
    ended_on: Mapped[date | None] = mapped_column(Date)
    salary: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    national_id: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = version_column()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class EmploymentEvent(Base):
    """One step of an employee's lifecycle; the history is append-only."""

    __tablename__ = "employment_events"
    __table_args__ = (
        CheckConstraint(check_in("kind", EMPLOYMENT_EVENT_KINDS), name="kind_known"),
        Index(None, "employee_id", "occurred_at", "id"),
        Index(None, "org_id", "occurred_at", "id"),
        Index(None, "department_id"),
        Index(None, "manager_id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    employee_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("employees.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    department_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("departments.id", ondelete="SET NULL"))
    manager_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("employees.id", ondelete="SET NULL"))
    title: Mapped[str | None] = mapped_column(String(120))
    salary: Mapped[Decimal | None] = mapped_column(MONEY)
    note: Mapped[str | None] = mapped_column(Text)
