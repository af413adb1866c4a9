"""The store's tables as SQLAlchemy Core metadata: one schema for SQLite and PostgreSQL.

Migrations in background_pipelines/migrations are the source of truth for the database; these
definitions mirror them so queries are written once. Times are UTC, stored naive.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

# -- conversations -----------------------------------------------------------------------------

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(32), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("channel", String(255), nullable=False),
    Column("session", String(255), nullable=False),
    # a user message's author is the user's stable key "platform:platform user id" (identity_users);
    # a character's is its name. author_name is the display name the message was posted under.
    Column("author", String(255), nullable=False),
    Column("author_kind", String(16), nullable=False),  # user | character
    Column("role", String(16), nullable=False),  # user | assistant | system
    Column("text", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("day", String(10), nullable=False),  # UTC date of created_at: the partition key
    Column("ingested_at", DateTime, nullable=False),
    Column("author_name", String(255)),
    UniqueConstraint("platform", "external_id", name="uq_messages_platform_external_id"),
    Index("ix_messages_day", "day"),
    Index("ix_messages_session", "session"),
    Index("ix_messages_author", "author"),
    Index("ix_messages_created_at", "created_at"),
    Index("ix_messages_channel_author", "channel", "author"),  # recall: a user's conversations
    Index("ix_messages_ingested_at", "ingested_at"),  # the knowledge trigger counts by arrival
)

# A user is an account: (platform, platform user id), keyed by name = "platform:platform_user_id"
# (identity_users). Display names are attributes that change; person groups explicitly linked accounts.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),  # the user key
    Column("display_name", String(255)),  # the name of the newest message
    Column("first_seen", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("platform", String(32)),
    Column("platform_user_id", String(255)),
    Column("person", String(255)),  # the key of the account this one is linked to (itself when unlinked)
    Column("name_seen_at", DateTime),  # created_at of the message that gave display_name
    Index("ix_users_display_name", "display_name"),
    Index("ix_users_platform_user_id", "platform_user_id"),
    Index("ix_users_person", "person"),
)

user_names = Table(
    "user_names",
    metadata,
    Column("user_key", String(255), primary_key=True),
    Column("name", String(255), primary_key=True),  # every display name the account has posted under
    Column("first_seen", DateTime, nullable=False),
    Index("ix_user_names_name", "name"),
)

user_links = Table(
    "user_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(8), nullable=False),  # link | unlink
    Column("user_key", String(255), nullable=False),
    Column("other_key", String(255)),  # the account linked to (link) / the person left (unlink)
    Column("person_before", String(255)),
    Column("person_after", String(255), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("actor", String(255), nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    Index("ix_user_links_user", "user_key"),
)

characters = Table(
    "characters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("persona", Text, nullable=False, default=""),
    Column("voice", Text, nullable=False, default=""),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("goals", JSON, nullable=False, default=list),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# -- the processing ledger: what each stage has done to each item --------------------------------

ledger = Table(
    "processing_ledger",
    metadata,
    Column("stage", String(64), primary_key=True),
    Column("item", String(255), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # done | pending | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("run_id", String(64)),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_ledger_status", "stage", "status"),
    Index("ix_ledger_updated_at", "updated_at"),
)

# -- LLM gateway -------------------------------------------------------------------------------

llm_cache = Table(
    "llm_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("model", String(255), nullable=False),
    Column("task", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    Index("ix_llm_cache_created_at", "created_at"),
)

llm_usage = Table(
    "llm_usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", String(10), nullable=False),
    Column("task", String(64), nullable=False),
    Column("model", String(255), nullable=False),
    Column("requests", Integer, nullable=False, default=0),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("created_at", DateTime, nullable=False),
    Index("ix_llm_usage_day", "day"),
)

# -- message-level derived artifacts ------------------------------------------------------------

message_scores = Table(
    "message_scores",
    metadata,
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("importance", Float, nullable=False),
    Column("importance_class", String(16), nullable=False),  # noise | weak_signal | signal
    Column("content_factor", Float, nullable=False),
    Column("activity_factor", Float, nullable=False),
    Column("recency_factor", Float, nullable=False),
    Column("topic_factor", Float, nullable=False),
    Column("significance", Integer, nullable=False),  # 0..3
    Column("backend", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

pins = Table(
    "pins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("character", String(255), nullable=False),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # auto | manual
    Column("pinned_at", DateTime, nullable=False),
    Column("unpinned_at", DateTime),
    UniqueConstraint("character", "message_id", name="uq_pins_character_message"),
    Index("ix_pins_character", "character"),
)

embeddings = Table(
    "embeddings",
    metadata,
    Column("item_kind", String(16), primary_key=True),  # message | summary | entity | ...
    Column("item_id", Integer, primary_key=True),
    Column("model", String(255), nullable=False),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32 little-endian
    Column("created_at", DateTime, nullable=False),
    Index("ix_embeddings_model", "item_kind", "model"),
)

summaries = Table(
    "summaries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session", String(255), nullable=False),
    Column("channel", String(255), nullable=False),
    Column("day", String(10), nullable=False),
    Column("first_message_id", Integer, nullable=False),
    Column("last_message_id", Integer, nullable=False),
    Column("message_ids", JSON, nullable=False),
    Column("participants", JSON, nullable=False),
    Column("text", Text, nullable=False),
    Column("meaningfulness", Integer, nullable=False),  # 1..5
    Column("status", String(16), nullable=False),  # kept | discarded
    Column("previous_id", Integer, ForeignKey("summaries.id", ondelete="SET NULL")),
    Column("backend", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("session", "last_message_id", name="uq_summaries_session_last"),
    Index("ix_summaries_day", "day"),
)

facts = Table(
    "facts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),  # fact | preference
    Column("subject", String(255), nullable=False),
    Column("predicate", String(64), nullable=False),
    Column("object", Text, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("valid_from", DateTime, nullable=False),
    Column("source_message_ids", JSON, nullable=False),
    Column("day", String(10), nullable=False),
    Column("backend", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("run_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    # the days (inclusive, midnight UTC) a time phrase of the statement points at ("last weekend")
    Column("event_start", DateTime),
    Column("event_end", DateTime),
    Column("ended", Boolean, nullable=False, default=False, server_default=false()),  # the statement ends the fact
    UniqueConstraint("user_name", "kind", "predicate", "object", "valid_from", name="uq_facts_identity"),
    Index("ix_facts_user", "user_name"),
    Index("ix_facts_day", "day"),
)

entities = Table(
    "entities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("norm", String(255), nullable=False, unique=True),  # normalized name: the dedup key
    Column("type", String(32), nullable=False),
    Column("aliases", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

relations = Table(
    "relations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("src_id", Integer, ForeignKey("entities.id"), nullable=False),
    Column("predicate", String(64), nullable=False),
    Column("dst_id", Integer, ForeignKey("entities.id"), nullable=False),
    Column("weight", Float, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("valid_from", DateTime, nullable=False),
    Column("invalidated_at", DateTime),
    Column("expired_at", DateTime),  # soft expiry by decay; cleared when mentioned again
    Column("inferred", Boolean, nullable=False, default=False),
    Column("source_message_ids", JSON, nullable=False),
    Column("source_fact_ids", JSON, nullable=False),
    UniqueConstraint("src_id", "predicate", "dst_id", "valid_from", name="uq_relations_identity"),
    Index("ix_relations_src", "src_id", "predicate"),
    Index("ix_relations_dst", "dst_id"),
)

relationship_scores = Table(
    "relationship_scores",
    metadata,
    Column("user_name", String(255), primary_key=True),
    Column("character", String(255), primary_key=True),
    Column("familiarity", Float, nullable=False),
    Column("interactions", Integer, nullable=False),
    Column("sessions", Integer, nullable=False),
    Column("first_interaction", DateTime, nullable=False),
    Column("last_interaction", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# -- graph upkeep and backups (migration 0004_graph_upkeep) -------------------------------------

entity_merges = Table(
    "entity_merges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("survivor_id", Integer, nullable=False),
    Column("merged_id", Integer, nullable=False),
    Column("merged_name", String(255), nullable=False),
    Column("survivor_name", String(255), nullable=False),
    Column("score", Float, nullable=False),
    Column("reason", String(32), nullable=False),  # exact | acronym | alias | fuzzy
    # full before-images: merged entity, survivor entity, every relation touched, entity embeddings
    Column("snapshot", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("undone_at", DateTime),
    Index("ix_entity_merges_survivor", "survivor_id"),
    Index("ix_entity_merges_merged", "merged_id"),
)

backups = Table(
    "backups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("path", String(1024), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # nightly | snapshot
    Column("method", String(16), nullable=False),  # sqlite | pg_dump | export
    Column("created_at", DateTime, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("checksum", String(64), nullable=False),  # sha256 of the file (of the manifest for exports)
    Index("ix_backups_kind_created", "kind", "created_at"),
)

# -- forgetting (recall helper, migration 0002_recall) ------------------------------------------

forget_log = Table(
    "forget_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # user | message
    Column("key_hash", String(64), nullable=False),  # sha256 of the forgotten key, never the key itself
    Column("rows", JSON, nullable=False),  # {table: rows removed}: counts only, no text
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("kind", "key_hash", name="uq_forget_log_key"),
)

# -- character cognition (migration 0003_character): every row names the messages it rests on ------

diaries = Table(
    "diaries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("character", String(255), nullable=False),
    Column("day", String(10), nullable=False),  # the character's local calendar day
    Column("title", String(255), nullable=False),
    Column("text", Text, nullable=False),
    Column("mood", String(32), nullable=False),
    Column("users", JSON, nullable=False),
    Column("source_message_ids", JSON, nullable=False),
    Column("source_summary_ids", JSON, nullable=False),
    Column("source_fact_ids", JSON, nullable=False),
    Column("material_hash", String(64), nullable=False),
    Column("backend", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("run_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("character", "day", name="uq_diaries_character_day"),
    Index("ix_diaries_day", "day"),
)

dreams = Table(
    "dreams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("character", String(255), nullable=False),
    Column("day", String(10), nullable=False),  # the night after this local day
    Column("title", String(255), nullable=False),
    Column("text", Text, nullable=False),
    Column("tone", String(32), nullable=False),
    Column("motifs", JSON, nullable=False),
    Column("source_message_ids", JSON, nullable=False),
    Column("source_summary_ids", JSON, nullable=False),
    Column("source_fact_ids", JSON, nullable=False),
    Column("material_hash", String(64), nullable=False),
    Column("backend", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("run_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("character", "day", name="uq_dreams_character_day"),
    Index("ix_dreams_day", "day"),
)

goal_strategies = Table(
    "goal_strategies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("character", String(255), nullable=False),
    Column("day", String(10), nullable=False),
    Column("strategies", JSON, nullable=False),  # [{goal, progress, evidence_message_ids, next_steps}]
    Column("follow_ups", JSON, nullable=False),  # [{user, reason, message_ids}]
    Column("text", Text, nullable=False),
    Column("source_message_ids", JSON, nullable=False),
    Column("material_hash", String(64), nullable=False),
    Column("backend", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("run_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("character", "day", name="uq_goal_strategies_character_day"),
    Index("ix_goal_strategies_day", "day"),
)

reflections = Table(
    "reflections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_name", String(255), nullable=False),
    Column("day", String(10), nullable=False),  # UTC day of the newest summary reflected on
    Column("through_summary_id", Integer, nullable=False),
    Column("summary_ids", JSON, nullable=False),
    Column("recurring_topics", JSON, nullable=False),
    Column("mood_trend", String(16), nullable=False),  # improving | declining | steady | mixed | unknown
    Column("preferences", JSON, nullable=False),
    Column("text", Text, nullable=False),
    Column("source_message_ids", JSON, nullable=False),
    Column("source_fact_ids", JSON, nullable=False),
    Column("backend", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("run_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("user_name", "through_summary_id", name="uq_reflections_user_through"),
    Index("ix_reflections_day", "day"),
)

insights = Table(
    "insights",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("character", String(255), nullable=False),
    Column("day", String(10), nullable=False),
    Column("epiphanies", JSON, nullable=False),  # [{topic, text, users, evidence: {message_ids, summary_ids, fact_ids}}]
    Column("text", Text, nullable=False),
    Column("users", JSON, nullable=False),
    Column("source_message_ids", JSON, nullable=False),
    Column("material_hash", String(64), nullable=False),
    Column("backend", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("run_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("character", "day", name="uq_insights_character_day"),
    Index("ix_insights_day", "day"),
)

drift_observations = Table(
    "drift_observations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("character", String(255), nullable=False),
    Column("day", String(10), nullable=False),
    Column("reply_count", Integer, nullable=False),
    Column("embedding_model", String(255), nullable=False),
    Column("embedding_distance", Float, nullable=False),  # persona+voice vs mean of the day's replies
    Column("baseline_embedding_distance", Float),  # the same over the baseline window
    Column("centroid_shift", Float),  # the day's reply centroid vs the baseline window's
    Column("style", JSON, nullable=False),
    Column("baseline_style", JSON),
    Column("baseline_reply_count", Integer, nullable=False),
    Column("drift_score", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("flagged", Boolean, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("source_message_ids", JSON, nullable=False),
    Column("material_hash", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("run_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("character", "day", name="uq_drift_observations_character_day"),
    Index("ix_drift_observations_day", "day"),
)

gossip = Table(
    "gossip",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("from_character", String(255), nullable=False),
    Column("to_character", String(255), nullable=False),
    Column("user_name", String(255), nullable=False),
    Column("source_message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("significance", Integer, nullable=False),  # the message_scores row (keyed by message id) it came from
    Column("session", String(255), nullable=False),
    Column("day", String(10), nullable=False),
    Column("text", Text, nullable=False),
    Column("source_message_ids", JSON, nullable=False),
    Column("backend", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("run_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("to_character", "source_message_id", name="uq_gossip_to_source"),
    Index("ix_gossip_to_user", "to_character", "user_name"),
    Index("ix_gossip_day", "day"),
)

channel_summaries = Table(
    "channel_summaries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(255), nullable=False),
    Column("day", String(10), nullable=False),
    Column("window_start", DateTime, nullable=False),
    Column("window_end", DateTime, nullable=False),
    Column("message_count", Integer, nullable=False),
    Column("participants", JSON, nullable=False),
    Column("text", Text, nullable=False),
    Column("previous_id", Integer, ForeignKey("channel_summaries.id", ondelete="SET NULL")),
    Column("source_message_ids", JSON, nullable=False),
    Column("backend", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("run_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("channel", "window_end", name="uq_channel_summaries_channel_end"),
    Index("ix_channel_summaries_day", "day"),
)

# -- lore digest (migration lore_digest): character background documents folded into facts --------

lore_documents = Table(
    "lore_documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("character", String(255), nullable=False),
    Column("name", String(512), nullable=False),  # the file name given to `bgp lore add`: the key per character
    Column("text", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("revision", Integer, nullable=False),  # +1 whenever the text changes: its old contributions are replaced
    Column("chunk_chars", Integer, nullable=False),  # the chunk size the document was cut with
    Column("chunks", JSON, nullable=False),  # [[start, end], ...] character offsets of each chunk
    Column("cursor", Integer, nullable=False),  # index of the first chunk not yet digested
    Column("status", String(16), nullable=False),  # pending | done
    Column("added_at", DateTime, nullable=False),  # when this revision was added: its facts' valid time
    Column("digested_at", DateTime),
    UniqueConstraint("character", "name", name="uq_lore_documents_character_name"),
)

lore_fact_sources = Table(
    "lore_fact_sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", Integer, ForeignKey("lore_documents.id", ondelete="CASCADE"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("chunk", Integer, nullable=False),
    Column("start", Integer, nullable=False),  # character offset of the sentence stating the fact
    Column("end", Integer, nullable=False),
    Column("fact_id", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("document_id", "fact_id", "start", name="uq_lore_fact_sources"),
    Index("ix_lore_fact_sources_fact", "fact_id"),
)

# -- classification experiments (migration lore_experiments): a labelled set classified by topic -----

classification_experiments = Table(
    "classification_experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, unique=True),  # one experiment per Dagster run (a retry resumes it)
    Column("name", String(255), nullable=False),
    Column("dataset", String(1024), nullable=False),
    Column("dataset_sha256", String(64), nullable=False),
    Column("topics", JSON, nullable=False),
    Column("model", String(255), nullable=False),
    Column("backend", String(32), nullable=False),
    Column("prompt_version", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # running | succeeded | failed
    Column("total", Integer, nullable=False),
    Column("classified", Integer, nullable=False),
    Column("correct", Integer, nullable=False),
    Column("accuracy", Float),
    Column("confusion", JSON, nullable=False),  # {true label: {predicted label: count}}
    Column("error", Text),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
)

classification_results = Table(
    "classification_results",
    metadata,
    Column("experiment_id", Integer, ForeignKey("classification_experiments.id", ondelete="CASCADE"), primary_key=True),
    Column("line", Integer, primary_key=True),  # line of the labelled file (the item's key)
    Column("text", Text, nullable=False),
    Column("label", String(255), nullable=False),
    Column("predicted", String(255)),
    Column("confidence", Float),
    Column("status", String(16), nullable=False),  # done | failed
    Column("error", Text),
)

# -- knowledge epochs (migration lore_epochs): what a character came to know on one local day --------

knowledge_epochs = Table(
    "knowledge_epochs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("character", String(255), nullable=False),
    Column("day", String(10), nullable=False),  # the character's local calendar day
    Column("new_facts", JSON, nullable=False),  # [{id, user, subject, predicate, object}]
    Column("ended_facts", JSON, nullable=False),  # facts stating an end that day
    Column("new_entities", JSON, nullable=False),  # [{id, name, type}] first in its knowledge that day
    Column("relations_added", JSON, nullable=False),  # [{id, src, predicate, dst}]
    Column("relations_ended", JSON, nullable=False),  # invalidated that day
    Column("merges", JSON, nullable=False),  # consolidation merges touching its entities that day
    Column("text", Text, nullable=False),  # the markdown summary
    Column("users", JSON, nullable=False),  # users whose facts it holds (forget: the convention rule)
    Column("source_fact_ids", JSON, nullable=False),
    Column("material_hash", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("run_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("character", "day", name="uq_knowledge_epochs_character_day"),
    Index("ix_knowledge_epochs_day", "day"),
)

# -- analysis runs (migration lore_analysis): a window of messages -> filters -> LLM proposals ---------

analysis_runs = Table(
    "analysis_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, unique=True),  # the Dagster run (a retry resumes its batches)
    Column("status", String(16), nullable=False),  # running | succeeded | failed
    Column("window_start", DateTime, nullable=False),
    Column("window_end", DateTime, nullable=False),
    Column("config", JSON, nullable=False),  # keywords, min_length, mentions, batch_size, model
    Column("fetched", Integer, nullable=False),
    Column("kept", Integer, nullable=False),
    Column("batches_total", Integer, nullable=False),
    Column("batches_done", Integer, nullable=False),
    Column("batches_failed", Integer, nullable=False),
    Column("proposals", Integer, nullable=False),
    Column("error", Text),  # why the run failed
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
)

analysis_proposals = Table(
    "analysis_proposals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("analysis_id", Integer, ForeignKey("analysis_runs.id", ondelete="CASCADE"), nullable=False),
    Column("batch", Integer, nullable=False),
    Column("title", String(300), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("source_message_ids", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("analysis_id", "batch", "title", name="uq_analysis_proposals_batch_title"),
)

# -- hub organisation (migration lore_hubs): very-high-degree entities given a layer of typed groups ---

hub_organisations = Table(
    "hub_organisations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hub_id", Integer, nullable=False),
    Column("hub_name", String(255), nullable=False),
    Column("degree", Integer, nullable=False),  # current explicit relations when last organised
    Column("groups", JSON, nullable=False),  # [{entity_id, norm, name, direction, predicate, members}]
    Column("status", String(16), nullable=False),  # active | undone
    Column("audit", JSON, nullable=False),  # [{at, action, created, removed, updated, by, reason}]: the trail
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("undone_at", DateTime),
    Column("undone_by", String(16)),  # person | threshold
    Index("ix_hub_organisations_hub", "hub_id"),
)

# -- scheduled prompts and outbound actions (migration actions_prompts) ------------------------------

# A prompt a user scheduled for a character: once (`next_at` the one occurrence) or by cron in the
# user's timezone. `next_at` (UTC) is the next occurrence to fire; NULL once done or cancelled.
scheduled_prompts = Table(
    "scheduled_prompts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_name", String(255), nullable=False),  # the user key (forget deletes the user's prompts)
    Column("character", String(255), nullable=False),
    Column("text", Text, nullable=False),
    Column("kind", String(8), nullable=False),  # once | cron
    Column("cron", String(120)),
    Column("timezone", String(64), nullable=False),
    Column("next_at", DateTime),
    Column("status", String(16), nullable=False),  # active | done | cancelled
    Column("fired", Integer, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_scheduled_prompts_due", "status", "next_at"),
    Index("ix_scheduled_prompts_user", "user_name"),
)

# The claim of one occurrence: inserted in the transaction that advances the prompt's next_at, so an
# occurrence is fired once whatever the number of daemons or restarts (unique prompt + occurrence).
prompt_fires = Table(
    "prompt_fires",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prompt_id", Integer, nullable=False),
    Column("occurrence_at", DateTime, nullable=False),  # UTC: the occurrence fired
    Column("user_name", String(255), nullable=False),
    Column("action_id", Integer),  # the outbound action that delivers it
    Column("skipped", Integer, nullable=False, default=0),  # occurrences missed while nothing ran (not fired)
    Column("claimed_at", DateTime, nullable=False),
    UniqueConstraint("prompt_id", "occurrence_at", name="uq_prompt_fires_occurrence"),
)

# Outbound actions (prompt, image, voice, post, heartbeat) posted to the bot's signed webhook: one row per
# action (unique dedup_key), pending -> sending -> delivered, or failed with the reason.
outbound_actions = Table(
    "outbound_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedup_key", String(255), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("character", String(255)),
    Column("user_name", String(255)),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_at", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("delivered_at", DateTime),
    Index("ix_outbound_actions_due", "status", "next_attempt_at"),
)
