using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using Tessera.Core.Storage;
using Tessera.Storage.Relational.Internal;

namespace Tessera.Storage.Sqlite.Internal;

/// <summary>
/// SQLite's side of the relational store. Times are INTEGER unix milliseconds (UTC), anything finer than a
/// millisecond dropped; booleans are 0 and 1; an audit event's session ids are a JSON array in TEXT. A write
/// transaction holds the whole database from its start (BEGIN IMMEDIATE), so no row is ever locked.
/// </summary>
internal sealed class SqliteDialect : SqlDialect
{
    /// <summary>A SQL function that case-folds text beyond ASCII, which SQLite's LIKE and lower() do not.</summary>
    public const string CaseFoldFunction = "tessera_fold";

    public static SqliteDialect Instance { get; } = new();

    private SqliteDialect()
    {
    }

    public override string ProductName => "SQLite";

    // SQLite has one writer at a time: a write transaction holds the database until it commits, so a writer that
    // reads a row, or asks whether there is an admin, already has it to itself.
    public override bool LocksRows => false;

    public override string RevokeSessions => """
        UPDATE sessions
        SET revoked_at = @at, revoked_by = @revokedBy, revoke_reason = @reason
        WHERE user_id = @userId AND revoked_at IS NULL AND absolute_expires_at > @at
          AND (@onlySessionId IS NULL OR id = @onlySessionId)
          AND (@exceptSessionId IS NULL OR id <> @exceptSessionId)
        RETURNING id
        """;

    public override string RevokeSessionsOfUsers => $"""
        UPDATE sessions
        SET revoked_at = @at, revoked_by = @revokedBy, revoke_reason = @reason
        WHERE {IsAnyOf("user_id", "@userIds")} AND revoked_at IS NULL AND absolute_expires_at > @at
        RETURNING user_id, id
        """;

    // Dapper writes a list parameter out as (@p1, @p2, …): at most a bulk batch's users, far below SQLite's limit of
    // 32,766 variables.
    public override string IsAnyOf(string column, string parameter) => $"{column} IN {parameter}";

    public override string PurgeEndedSessions => """
        DELETE FROM sessions WHERE id IN (
            SELECT id FROM sessions
            WHERE revoked_at < @cut OR absolute_expires_at < @cut OR last_active_at < @idleCut
            LIMIT @limit)
        """;

    public override object ToStored(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    public override object ToStored(bool value) => value ? 1L : 0L;

    public override bool ReadBoolean(DbDataReader reader, int ordinal) => reader.GetInt64(ordinal) != 0;

    public override object ToStored(IReadOnlyList<string> ids) =>
        JsonSerializer.Serialize(ids as string[] ?? [.. ids], AuditJsonContext.Default.StringArray);

    public override string[] ReadIds(DbDataReader reader, int ordinal) =>
        JsonSerializer.Deserialize(reader.GetString(ordinal), AuditJsonContext.Default.StringArray) ?? [];

    // Folded in .NET (see CaseFold, which the store registers on every connection) so that case is ignored beyond
    // ASCII, which LIKE alone does not do.
    public override string MatchesIgnoringCase(string column, string pattern) => $"""{CaseFoldFunction}({column}) LIKE {pattern} ESCAPE '\'""";

    public override string SearchText(string text) => CaseFold(text);

    public override string OrderIgnoringCase(string column) => $"{CaseFoldFunction}({column})";

    public override (string Sql, object Parameters) TouchSessions(IReadOnlyCollection<SessionActivity> activity)
    {
        // Equivalent to last_active_at = max(last_active_at, @at), without rewriting rows that would not change.
        // Dapper runs the statement once per element, all inside the transaction.
        const string sql = """
            UPDATE sessions SET last_active_at = @at
            WHERE id = @id AND revoked_at IS NULL AND last_active_at < @at
            """;
        return (sql, activity.Select(a => new { id = a.SessionId, at = a.LastActiveAt.ToUnixTimeMilliseconds() }).ToList());
    }

    /// <summary>The case folding of <see cref="CaseFoldFunction"/>.</summary>
    [return: NotNullIfNotNull(nameof(text))]
    public static string? CaseFold(string? text) => text?.ToUpperInvariant();
}

[JsonSerializable(typeof(string[]))]
internal sealed partial class AuditJsonContext : JsonSerializerContext;
