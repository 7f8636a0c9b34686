using System.Data.Common;
using Dapper;

namespace Tessera.Storage.Relational.Internal;

/// <summary>The connection, transaction and dialect that every store of one <see cref="RelationalStoreTransaction"/> works in.</summary>
internal sealed class StoreContext(DbConnection connection, DbTransaction transaction, SqlDialect dialect, bool forWrite)
{
    private bool _readOnlyPending = !forWrite && dialect.ReadOnlyPreamble is not null;

    public DbConnection Connection { get; } = connection;

    public SqlDialect Dialect { get; } = dialect;

    /// <summary>True in a write transaction.</summary>
    public bool ForWrite { get; } = forWrite;

    /// <summary>
    /// In a write transaction a row is read to be changed: where the database locks rows, lock it until the
    /// transaction ends, so that two read-modify-writes of one user (on this node or another) run one after the
    /// other, the second reading what the first wrote (READ COMMITTED gives FOR UPDATE the latest committed row once
    /// the lock is granted).
    /// </summary>
    public bool LocksRows => ForWrite && Dialect.LocksRows;

    /// <summary>What ends a SELECT of rows read to be changed: <c> FOR UPDATE</c> where <see cref="LocksRows"/>, else nothing.</summary>
    public string ForUpdate => LocksRows ? " FOR UPDATE" : "";

    /// <summary>Runs a query and maps each row with <paramref name="read"/>.</summary>
    public async Task<List<T>> QueryAsync<T>(string sql, object? parameters, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        await using var reader = await Connection.ExecuteReaderAsync(Command(sql, parameters, cancellationToken));
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>Runs a statement and maps its first row with <paramref name="read"/>; null when there is none.</summary>
    public async Task<T?> QueryFirstOrNullAsync<T>(string sql, object? parameters, Func<DbDataReader, T> read, CancellationToken cancellationToken)
        where T : class
    {
        await using var reader = await Connection.ExecuteReaderAsync(Command(sql, parameters, cancellationToken));
        return await reader.ReadAsync(cancellationToken) ? read(reader) : null;
    }

    public CommandDefinition Command(string sql, object? parameters, CancellationToken cancellationToken)
    {
        if (_readOnlyPending)
        {
            _readOnlyPending = false;
            sql = Dialect.ReadOnlyPreamble + sql;
        }

        return new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken);
    }
}
