"""payments name what they pay for (target_kind, target_id; bill_id only for bills); saved contacts

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_kind", sa.String(length=8), nullable=False, server_default="bill"))
        batch_op.add_column(sa.Column("target_id", sa.String(length=64), nullable=True))
        batch_op.alter_column("bill_id", existing_type=sa.String(length=64), nullable=True)
    op.execute("UPDATE payments SET target_id = bill_id")  # every existing payment paid a bill
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column("target_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index("ix_payments_target", ["target_kind", "target_id"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("aliases", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "label", name="uq_contact_label"),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_user_id"), ["user_id"], unique=False)


def downgrade() -> None:  # only while no top-up exists (their bill_id is empty)
    op.drop_table("contacts")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_target")
        batch_op.alter_column("bill_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("target_id")
        batch_op.drop_column("target_kind")
