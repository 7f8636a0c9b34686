using Tessera.Core;
using System.Data.Common;
using Dapper;
using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres.Internal;

internal sealed class PostgresAuditLog(PostgresContext db) : IAuditLog
{
    private const string Columns = "id, at, action, actor_kind, actor_id, target_user_id, session_ids, reason, ip_address";

    public async Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        const string sql = $"""
            INSERT INTO audit_events ({Columns})
            VALUES (@Id, @At, @Action, @ActorKind, @ActorId, @TargetUserId, @SessionIds, @Reason, @IpAddress)
            """;
        await db.Connection.ExecuteAsync(db.Command(sql, Parameters(auditEvent), cancellationToken));
    }

    public async Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(query.Limit);

        // Only the filters asked for are written into the SQL, so that the planner can pick the matching index
        // ("@x IS NULL OR ..." would hide the indexes from it).
        var where = new List<string>(4);
        if (query.UserId is not null)
        {
            where.Add("(target_user_id = @userId OR actor_id = @userId)");
        }

        if (query.Action is not null)
        {
            where.Add("action = @action");
        }

        if (query.After is not null)
        {
            where.Add("at > @after");
        }

        if (query.Before is not null)
        {
            where.Add("at < @before");
        }

        var sql = $"""
            SELECT {Columns} FROM audit_events
            {(where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where))}
            ORDER BY at DESC, id DESC
            LIMIT @limit
            """;
        var parameters = new
        {
            userId = query.UserId,
            action = query.Action,
            after = PostgresTime.ToStored(query.After),
            before = PostgresTime.ToStored(query.Before),
            limit = query.Limit,
        };

        var events = new List<AuditEvent>();
        await using var reader = await db.Connection.ExecuteReaderAsync(db.Command(sql, parameters, cancellationToken));
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(Read(reader));
        }

        return events;
    }

    // The row <-> record mapping of audit events lives here and only here: Read follows the order of Columns.
    private static AuditEvent Read(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        At = reader.GetTime(1),
        Action = reader.GetString(2),
        Actor = new Actor(WireNames.ParseActorKind(reader.GetString(3)), reader.GetStringOrNull(4)),
        TargetUserId = reader.GetStringOrNull(5),
        SessionIds = reader.GetFieldValue<string[]>(6),
        Reason = reader.GetStringOrNull(7),
        IpAddress = reader.GetStringOrNull(8),
    };

    private static object Parameters(AuditEvent auditEvent) => new
    {
        auditEvent.Id,
        At = PostgresTime.ToStored(auditEvent.At),
        auditEvent.Action,
        ActorKind = WireNames.ActorKindName(auditEvent.Actor.Kind),
        ActorId = auditEvent.Actor.Id,
        auditEvent.TargetUserId,
        // A text[] (Dapper passes arrays through to Npgsql as they are).
        SessionIds = auditEvent.SessionIds as string[] ?? [.. auditEvent.SessionIds],
        auditEvent.Reason,
        auditEvent.IpAddress,
    };
}
