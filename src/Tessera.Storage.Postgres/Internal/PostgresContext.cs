using Dapper;
using Npgsql;

namespace Tessera.Storage.Postgres.Internal;

/// <summary>The connection and transaction that every store of one <see cref="PostgresStoreTransaction"/> works in.</summary>
internal sealed class PostgresContext(NpgsqlConnection connection, NpgsqlTransaction transaction, bool forWrite)
{
    // Npgsql has no READ ONLY option on BeginTransaction; the first command of a read transaction says it instead,
    // in the same round trip (Npgsql sends the BEGIN it holds back together with it).
    private bool _readOnlyPending = !forWrite;

    public NpgsqlConnection Connection { get; } = connection;

    /// <summary>True in a write transaction: rows read there to be changed are locked (SELECT ... FOR UPDATE).</summary>
    public bool ForWrite { get; } = forWrite;

    public CommandDefinition Command(string sql, object? parameters, CancellationToken cancellationToken)
    {
        if (_readOnlyPending)
        {
            _readOnlyPending = false;
            sql = "SET TRANSACTION READ ONLY;\n" + sql;
        }

        return new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken);
    }
}
