using System.Data.Common;
using Tessera.Core.Storage;
using Tessera.Storage.Relational.Internal;

namespace Tessera.Storage.Postgres.Internal;

/// <summary>
/// PostgreSQL's side of the relational store: timestamptz, boolean and text[] columns; writers of different users
/// run at once and serialise where they must with row locks.
/// </summary>
/// <remarks>
/// Statements that change several sessions lock them in id order first (SELECT ... ORDER BY id FOR UPDATE), so that
/// two of them (a revocation and an activity flush from another node, say) never take the same rows in opposite
/// orders and deadlock: PostgreSQL would abort one, where SQLite, one writer at a time, never fails.
/// </remarks>
internal sealed class PostgresDialect : SqlDialect
{
    // Case is folded by ICU, beyond ASCII and whatever the database's locale (V001 checks that the collation exists).
    private const string Fold = "COLLATE \"und-x-icu\"";

    public static PostgresDialect Instance { get; } = new();

    private PostgresDialect()
    {
    }

    public override string ProductName => "PostgreSQL";

    public override bool LocksRows => true;

    // Npgsql has no READ ONLY option on BeginTransaction; the first command of a read transaction says it instead,
    // in the same round trip (Npgsql sends the BEGIN it holds back together with it).
    public override string ReadOnlyPreamble => "SET TRANSACTION READ ONLY;\n";

    // No row to lock while there is no admin: a transaction-level advisory lock makes two nodes that both create
    // "the first admin" take turns, and the second then sees the first one's.
    public override string FirstAdminLock => "SELECT pg_advisory_xact_lock(hashtext('tessera.first_admin'))";

    // The FROM item marks the transaction as Tessera's own write (tessera.writer, local to the transaction) before
    // the row is changed, so that the trigger that moves security_version for direct SQL writes leaves this one as
    // written (see V003). set_config is volatile: the planner keeps the one-row subquery and runs it.
    public override string OwnUserUpdateMarker => "FROM (SELECT set_config('tessera.writer', 'on', true)) AS tessera_writer";

    // Locked in id order (see the class remarks). A session another transaction revoked meanwhile is read again
    // once its lock is granted and left out: each session is reported revoked by exactly one call.
    public override string RevokeSessions => """
        WITH target AS (
            SELECT id FROM sessions
            WHERE user_id = @userId AND revoked_at IS NULL AND absolute_expires_at > @at
              AND (@onlySessionId::text IS NULL OR id = @onlySessionId)
              AND (@exceptSessionId::text IS NULL OR id <> @exceptSessionId)
            ORDER BY id
            FOR UPDATE
        )
        UPDATE sessions AS s
        SET revoked_at = @at, revoked_by = @revokedBy, revoke_reason = @reason
        FROM target
        WHERE s.id = target.id AND s.revoked_at IS NULL
        RETURNING s.id
        """;

    // The same as RevokeSessions for many users at once: locked in id order (see the class remarks).
    public override string RevokeSessionsOfUsers => """
        WITH target AS (
            SELECT id FROM sessions
            WHERE user_id = ANY(@userIds) AND revoked_at IS NULL AND absolute_expires_at > @at
            ORDER BY id
            FOR UPDATE
        )
        UPDATE sessions AS s
        SET revoked_at = @at, revoked_by = @revokedBy, revoke_reason = @reason
        FROM target
        WHERE s.id = target.id AND s.revoked_at IS NULL
        RETURNING s.user_id, s.id
        """;

    // Dapper hands a string[] to Npgsql as one text[] parameter.
    public override string IsAnyOf(string column, string parameter) => $"{column} = ANY({parameter})";

    // Nodes purge on their own schedules; rows another node is deleting are skipped, not waited for.
    public override string PurgeEndedSessions => """
        DELETE FROM sessions WHERE id IN (
            SELECT id FROM sessions
            WHERE revoked_at < @cut OR absolute_expires_at < @cut OR last_active_at < @idleCut
            ORDER BY id
            LIMIT @limit
            FOR UPDATE SKIP LOCKED)
        """;

    /// <summary>
    /// Times go to PostgreSQL as whole milliseconds in UTC. timestamptz could keep microseconds, but every store keeps
    /// milliseconds (see the store specification; SQLite stores unix milliseconds), so both stores give back the same
    /// values and compare the same: a time read back equals the time written, truncated to the millisecond. Npgsql
    /// also wants an offset of zero for timestamptz.
    /// </summary>
    public override object ToStored(DateTimeOffset value) => ToMilliseconds(value);

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    public override object ToStored(bool value) => value;

    public override bool ReadBoolean(DbDataReader reader, int ordinal) => reader.GetBoolean(ordinal);

    // A text[] (Dapper passes arrays through to Npgsql as they are).
    public override object ToStored(IReadOnlyList<string> ids) => ids as string[] ?? [.. ids];

    public override string[] ReadIds(DbDataReader reader, int ordinal) => reader.GetFieldValue<string[]>(ordinal);

    // Both sides folded the same way by the same (ICU) rules.
    public override string MatchesIgnoringCase(string column, string pattern) =>
        $"""upper({column} {Fold}) LIKE upper({pattern} {Fold}) ESCAPE '\'""";

    public override string OrderIgnoringCase(string column) => $"lower({column} {Fold})";

    public override (string Sql, object Parameters) TouchSessions(IReadOnlyCollection<SessionActivity> activity)
    {
        // One statement for the whole batch: last_active_at = max(last_active_at, at), without rewriting rows that
        // would not change, for sessions not revoked; the rows are locked in id order (see the class remarks).
        const string sql = """
            WITH activity AS (
                SELECT id, max(at) AS at FROM unnest(@ids::text[], @ats::timestamptz[]) AS a(id, at) GROUP BY id
            ),
            target AS (
                SELECT s.id, activity.at FROM sessions AS s JOIN activity ON activity.id = s.id
                WHERE s.revoked_at IS NULL AND s.last_active_at < activity.at
                ORDER BY s.id
                FOR UPDATE OF s
            )
            UPDATE sessions AS s SET last_active_at = target.at
            FROM target
            WHERE s.id = target.id AND s.revoked_at IS NULL AND s.last_active_at < target.at
            """;
        var ids = new string[activity.Count];
        var ats = new DateTimeOffset[activity.Count];
        var i = 0;
        foreach (var entry in activity)
        {
            ids[i] = entry.SessionId;
            ats[i] = ToMilliseconds(entry.LastActiveAt);
            i++;
        }

        return (sql, new { ids, ats });
    }

    private static DateTimeOffset ToMilliseconds(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }
}
