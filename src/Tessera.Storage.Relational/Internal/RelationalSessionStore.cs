using System.Data.Common;
using Dapper;
using Tessera.Core;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;

namespace Tessera.Storage.Relational.Internal;

internal sealed class RelationalSessionStore(StoreContext db) : ISessionStore
{
    private const string Columns =
        "id, token_hash, user_id, device_name, device_platform, device_os, device_browser, user_agent, ip_address, " +
        "created_at, last_active_at, absolute_expires_at, revoked_at, revoked_by, revoke_reason, client_id";

    private const string InsertSql = $"""
        INSERT INTO sessions ({Columns})
        VALUES (@Id, @TokenHash, @UserId, @DeviceName, @DevicePlatform, @DeviceOs, @DeviceBrowser, @UserAgent, @IpAddress,
                @CreatedAt, @LastActiveAt, @AbsoluteExpiresAt, @RevokedAt, @RevokedBy, @RevokeReason, @ClientId)
        """;

    public async Task InsertAsync(Session session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        await db.Connection.ExecuteAsync(db.Command(InsertSql, Parameters(session), cancellationToken));
    }

    /// <summary>
    /// Inserts many sessions with the statement and parameters of <see cref="InsertAsync"/>, in batches where the
    /// provider sends them (one round trip per <paramref name="batchSize"/> sessions on PostgreSQL), one by one where it
    /// does not. Not part of <see cref="ISessionStore"/>: the server signs in one session at a time; this is for
    /// bench/Tessera.ScaleSeed, which writes a million sessions exactly as the server would.
    /// </summary>
    internal async Task InsertManyAsync(IReadOnlyList<Session> sessions, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        if (!db.CanBatch)
        {
            foreach (var session in sessions)
            {
                await InsertAsync(session, cancellationToken);
            }

            return;
        }

        await db.ExecuteBatchAsync(InsertSql, [.. sessions.Select(Parameters)], batchSize, cancellationToken);
    }

    public async Task<Session?> FindByTokenHashAsync(TokenHash tokenHash, CancellationToken cancellationToken)
    {
        return await db.QueryFirstOrNullAsync(
            $"SELECT {Columns} FROM sessions WHERE token_hash = @tokenHash", new { tokenHash = tokenHash.ToArray() }, Read, cancellationToken);
    }

    public async Task<Session?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return await db.QueryFirstOrNullAsync($"SELECT {Columns} FROM sessions WHERE id = @id", new { id }, Read, cancellationToken);
    }

    public async Task<IReadOnlyList<Session>> ListUnrevokedAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        const string sql = $"""
            SELECT {Columns} FROM sessions
            WHERE user_id = @userId AND revoked_at IS NULL AND absolute_expires_at > @now
            ORDER BY last_active_at DESC, id
            """;
        return await db.QueryAsync(sql, new { userId, now = db.Dialect.ToStored(now) }, Read, cancellationToken);
    }

    public async Task<IReadOnlyList<string>> RevokeAsync(
        string userId, RevocationScope scope, SessionRevocation revocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(revocation);
        var revoked = await db.Connection.QueryAsync<string>(db.Command(db.Dialect.RevokeSessions, new
        {
            userId,
            at = db.Dialect.ToStored(revocation.At),
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

    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> RevokeAllOfUsersAsync(
        IReadOnlyCollection<string> userIds, SessionRevocation revocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        ArgumentNullException.ThrowIfNull(revocation);
        var byUser = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (userIds.Count == 0)
        {
            return byUser;
        }

        var revoked = await db.QueryAsync(db.Dialect.RevokeSessionsOfUsers, new
        {
            userIds = userIds as string[] ?? [.. userIds],
            at = db.Dialect.ToStored(revocation.At),
            revokedBy = revocation.RevokedBy,
            reason = revocation.Reason.ToWireName(),
        }, reader => (UserId: reader.GetString(0), SessionId: reader.GetString(1)), cancellationToken);

        // RETURNING gives no order; sort each user's list so that callers (and audit events) see a stable one.
        foreach (var group in revoked.GroupBy(row => row.UserId, StringComparer.Ordinal))
        {
            var ids = group.Select(row => row.SessionId).ToList();
            ids.Sort(StringComparer.Ordinal);
            byUser[group.Key] = ids;
        }

        return byUser;
    }

    public async Task TouchAsync(IReadOnlyCollection<SessionActivity> activity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(activity);
        if (activity.Count == 0)
        {
            return;
        }

        var (sql, parameters) = db.Dialect.TouchSessions(activity);
        await db.Connection.ExecuteAsync(db.Command(sql, parameters, cancellationToken));
    }

    public async Task<int> PurgeEndedAsync(DateTimeOffset endedBefore, TimeSpan idleTimeout, int limit, CancellationToken cancellationToken) =>
        await db.Connection.ExecuteAsync(db.Command(db.Dialect.PurgeEndedSessions, new
        {
            cut = db.Dialect.ToStored(endedBefore),
            idleCut = db.Dialect.ToStored(endedBefore - idleTimeout),
            limit,
        }, cancellationToken));

    // The row <-> record mapping of sessions lives here and only here: Read follows the order of Columns.
    private Session Read(DbDataReader reader) => new()
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
        CreatedAt = db.Dialect.ReadTime(reader, 9),
        LastActiveAt = db.Dialect.ReadTime(reader, 10),
        AbsoluteExpiresAt = db.Dialect.ReadTime(reader, 11),
        RevokedAt = db.Dialect.ReadTimeOrNull(reader, 12),
        RevokedBy = reader.GetStringOrNull(13),
        // A reason this version does not know (written by hand or by a newer version) reads as "no reason":
        // the session is still revoked, and the check falls back to a generic explanation.
        RevokeReason = RevocationReasons.TryParse(reader.GetStringOrNull(14), out var reason) ? reason : null,
        ClientId = reader.GetStringOrNull(15),
    };

    private object Parameters(Session session) => new
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
        CreatedAt = db.Dialect.ToStored(session.CreatedAt),
        LastActiveAt = db.Dialect.ToStored(session.LastActiveAt),
        AbsoluteExpiresAt = db.Dialect.ToStored(session.AbsoluteExpiresAt),
        RevokedAt = db.Dialect.ToStored(session.RevokedAt),
        session.RevokedBy,
        RevokeReason = session.RevokeReason?.ToWireName(),
        session.ClientId,
    };
}
