using Tessera.Core;
using System.Data.Common;
using Dapper;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres.Internal;

/// <remarks>
/// Statements that change several sessions lock them in id order first (SELECT ... ORDER BY id FOR UPDATE), so that
/// two of them (a revocation and an activity flush from another node, say) never take the same rows in opposite
/// orders and deadlock: PostgreSQL would abort one, where SQLite, one writer at a time, never fails.
/// </remarks>
internal sealed class PostgresSessionStore(PostgresContext db) : ISessionStore
{
    private const string Columns =
        "id, token_hash, user_id, device_name, device_platform, device_os, device_browser, user_agent, ip_address, " +
        "created_at, last_active_at, absolute_expires_at, revoked_at, revoked_by, revoke_reason";

    public async Task InsertAsync(Session session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        const string sql = $"""
            INSERT INTO sessions ({Columns})
            VALUES (@Id, @TokenHash, @UserId, @DeviceName, @DevicePlatform, @DeviceOs, @DeviceBrowser, @UserAgent, @IpAddress,
                    @CreatedAt, @LastActiveAt, @AbsoluteExpiresAt, @RevokedAt, @RevokedBy, @RevokeReason)
            """;
        await db.Connection.ExecuteAsync(db.Command(sql, Parameters(session), cancellationToken));
    }

    public async Task<Session?> FindByTokenHashAsync(TokenHash tokenHash, CancellationToken cancellationToken)
    {
        var sessions = await QueryAsync(
            $"SELECT {Columns} FROM sessions WHERE token_hash = @tokenHash", new { tokenHash = tokenHash.ToArray() }, cancellationToken);
        return sessions.Count == 0 ? null : sessions[0];
    }

    public async Task<Session?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var sessions = await QueryAsync($"SELECT {Columns} FROM sessions WHERE id = @id", new { id }, cancellationToken);
        return sessions.Count == 0 ? null : sessions[0];
    }

    public async Task<IReadOnlyList<Session>> ListUnrevokedAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        const string sql = $"""
            SELECT {Columns} FROM sessions
            WHERE user_id = @userId AND revoked_at IS NULL AND absolute_expires_at > @now
            ORDER BY last_active_at DESC, id
            """;
        return await QueryAsync(sql, new { userId, now = PostgresTime.ToStored(now) }, cancellationToken);
    }

    public async Task<IReadOnlyList<string>> RevokeAsync(
        string userId, RevocationScope scope, SessionRevocation revocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(revocation);
        // Locked in id order (see the class remarks). A session another transaction revoked meanwhile is read again
        // once its lock is granted and left out: each session is reported revoked by exactly one call.
        const string sql = """
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
        var revoked = await db.Connection.QueryAsync<string>(db.Command(sql, new
        {
            userId,
            at = PostgresTime.ToStored(revocation.At),
            revokedBy = revocation.RevokedBy,
            reason = revocation.Reason.ToWireName(),
            onlySessionId = scope.OnlySessionId,
            exceptSessionId = scope.ExceptSessionId,
        }, cancellationToken));

        // RETURNING gives no order; sort so that callers (and audit events) see a stable list.
        var ids = revoked.ToList();
        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    public async Task TouchAsync(IReadOnlyCollection<SessionActivity> activity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(activity);
        if (activity.Count == 0)
        {
            return;
        }

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
            ats[i] = PostgresTime.ToStored(entry.LastActiveAt);
            i++;
        }

        await db.Connection.ExecuteAsync(db.Command(sql, new { ids, ats }, cancellationToken));
    }

    public async Task<int> PurgeEndedAsync(DateTimeOffset endedBefore, TimeSpan idleTimeout, int limit, CancellationToken cancellationToken)
    {
        // Nodes purge on their own schedules; rows another node is deleting are skipped, not waited for.
        const string sql = """
            DELETE FROM sessions WHERE id IN (
                SELECT id FROM sessions
                WHERE revoked_at < @cut OR absolute_expires_at < @cut OR last_active_at < @idleCut
                ORDER BY id
                LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            """;
        return await db.Connection.ExecuteAsync(db.Command(sql, new
        {
            cut = PostgresTime.ToStored(endedBefore),
            idleCut = PostgresTime.ToStored(endedBefore - idleTimeout),
            limit,
        }, cancellationToken));
    }

    private async Task<List<Session>> QueryAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        var sessions = new List<Session>();
        await using var reader = await db.Connection.ExecuteReaderAsync(db.Command(sql, parameters, cancellationToken));
        while (await reader.ReadAsync(cancellationToken))
        {
            sessions.Add(Read(reader));
        }

        return sessions;
    }

    // The row <-> record mapping of sessions lives here and only here: Read follows the order of Columns.
    private static Session Read(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        TokenHash = TokenHash.FromBytes(reader.GetBytes(1)),
        UserId = reader.GetString(2),
        Device = new DeviceInfo(
            Name: reader.GetStringOrNull(3),
            Platform: WireNames.ParsePlatform(reader.GetString(4)),
            Os: reader.GetStringOrNull(5),
            Browser: reader.GetStringOrNull(6),
            UserAgent: reader.GetStringOrNull(7)),
        IpAddress = reader.GetStringOrNull(8),
        CreatedAt = reader.GetTime(9),
        LastActiveAt = reader.GetTime(10),
        AbsoluteExpiresAt = reader.GetTime(11),
        RevokedAt = reader.GetTimeOrNull(12),
        RevokedBy = reader.GetStringOrNull(13),
        // A reason this version does not know (written by hand or by a newer version) reads as "no reason":
        // the session is still revoked, and the check falls back to a generic explanation.
        RevokeReason = RevocationReasons.TryParse(reader.GetStringOrNull(14), out var reason) ? reason : null,
    };

    private static object Parameters(Session session) => new
    {
        session.Id,
        TokenHash = session.TokenHash.ToArray(),
        session.UserId,
        DeviceName = session.Device.Name,
        DevicePlatform = WireNames.PlatformName(session.Device.Platform),
        DeviceOs = session.Device.Os,
        DeviceBrowser = session.Device.Browser,
        session.Device.UserAgent,
        session.IpAddress,
        CreatedAt = PostgresTime.ToStored(session.CreatedAt),
        LastActiveAt = PostgresTime.ToStored(session.LastActiveAt),
        AbsoluteExpiresAt = PostgresTime.ToStored(session.AbsoluteExpiresAt),
        RevokedAt = PostgresTime.ToStored(session.RevokedAt),
        session.RevokedBy,
        RevokeReason = session.RevokeReason?.ToWireName(),
    };
}
