using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text;
using Dapper;
using Tessera.Core;
using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Storage.Relational.Internal;

internal sealed class RelationalAuditLog(StoreContext db) : IAuditLog
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

    /// <summary>Rows per INSERT: 9 parameters each, far below both databases' limits (SQLite 32,766; PostgreSQL 65,535).</summary>
    private const int RowsPerInsert = 200;

    public async Task AppendManyAsync(IReadOnlyList<AuditEvent> auditEvents, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auditEvents);
        if (auditEvents.Count == 1)
        {
            await AppendAsync(auditEvents[0], cancellationToken);
            return;
        }

        // One multi-row INSERT per RowsPerInsert events: one round trip (PostgreSQL) and one statement instead of one each.
        foreach (var chunk in auditEvents.Chunk(RowsPerInsert))
        {
            var sql = new StringBuilder($"INSERT INTO audit_events ({Columns}) VALUES ");
            var parameters = new DynamicParameters();
            for (var i = 0; i < chunk.Length; i++)
            {
                var e = chunk[i];
                ArgumentNullException.ThrowIfNull(e);
                sql.Append(i == 0 ? "" : ", ")
                    .Append(CultureInfo.InvariantCulture, $"(@Id{i}, @At{i}, @Action{i}, @ActorKind{i}, @ActorId{i}, @TargetUserId{i}, @SessionIds{i}, @Reason{i}, @IpAddress{i})");
                // Text typed explicitly: a null without a type would leave the database to guess it.
                parameters.Add($"Id{i}", e.Id, DbType.String);
                parameters.Add($"At{i}", db.Dialect.ToStored(e.At));
                parameters.Add($"Action{i}", e.Action, DbType.String);
                parameters.Add($"ActorKind{i}", WireNames.ActorKindName(e.Actor.Kind), DbType.String);
                parameters.Add($"ActorId{i}", e.Actor.Id, DbType.String);
                parameters.Add($"TargetUserId{i}", e.TargetUserId, DbType.String);
                parameters.Add($"SessionIds{i}", db.Dialect.ToStored(e.SessionIds));
                parameters.Add($"Reason{i}", e.Reason, DbType.String);
                parameters.Add($"IpAddress{i}", e.IpAddress, DbType.String);
            }

            await db.Connection.ExecuteAsync(db.Command(sql.ToString(), parameters, cancellationToken));
        }
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
            after = db.Dialect.ToStored(query.After),
            before = db.Dialect.ToStored(query.Before),
            limit = query.Limit,
        };

        return await db.QueryAsync(sql, parameters, Read, cancellationToken);
    }

    // The row <-> record mapping of audit events lives here and only here: Read follows the order of Columns.
    private AuditEvent Read(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        At = db.Dialect.ReadTime(reader, 1),
        Action = reader.GetString(2),
        Actor = new Actor(WireNames.ParseActorKind(reader.GetString(3)), reader.GetStringOrNull(4)),
        TargetUserId = reader.GetStringOrNull(5),
        SessionIds = db.Dialect.ReadIds(reader, 6),
        Reason = reader.GetStringOrNull(7),
        IpAddress = reader.GetStringOrNull(8),
    };

    private DynamicParameters Parameters(AuditEvent auditEvent)
    {
        var parameters = new DynamicParameters(new
        {
            auditEvent.Id,
            At = db.Dialect.ToStored(auditEvent.At),
            auditEvent.Action,
            ActorKind = WireNames.ActorKindName(auditEvent.Actor.Kind),
            ActorId = auditEvent.Actor.Id,
            auditEvent.TargetUserId,
            auditEvent.Reason,
            auditEvent.IpAddress,
        });
        // Added by value, so that Dapper looks at what the dialect made of the list (text, or an array it passes through).
        parameters.Add("SessionIds", db.Dialect.ToStored(auditEvent.SessionIds));
        return parameters;
    }
}
