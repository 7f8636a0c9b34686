using System.Data;
using System.Data.Common;
using System.Reflection;
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

    /// <summary>
    /// True where the provider sends many statements in one round trip (<see cref="DbConnection.CanCreateBatch"/>:
    /// Npgsql does, Microsoft.Data.Sqlite does not, and needs none: it runs in the process).
    /// </summary>
    public bool CanBatch => Connection.CanCreateBatch;

    /// <summary>
    /// Runs one write statement once per parameter object of <paramref name="parameterSets"/>, all of one anonymous
    /// type, as <see cref="DbBatch"/>es of <paramref name="batchSize"/> statements in this transaction, and returns the
    /// rows each one changed. Only where <see cref="CanBatch"/>. For bulk writes that must be the store's own
    /// statements, row for row (the scale benchmark's seed): the parameters are the same objects Dapper gets from the
    /// store, read property by property (strings typed as strings, as Dapper types them; other values, and nulls of
    /// other types, left to the provider, which types a null from its column).
    /// </summary>
    public async Task<int[]> ExecuteBatchAsync(string sql, IReadOnlyList<object> parameterSets, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (!ForWrite || !CanBatch)
        {
            throw new InvalidOperationException("Batches are for write transactions of a provider that sends them (CanBatch).");
        }

        var affected = new int[parameterSets.Count];
        if (parameterSets.Count == 0)
        {
            return affected;
        }

        var type = parameterSets[0].GetType();
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
        for (var start = 0; start < parameterSets.Count; start += batchSize)
        {
            var count = Math.Min(batchSize, parameterSets.Count - start);
            await using var batch = Connection.CreateBatch();
            batch.Transaction = transaction;
            for (var i = start; i < start + count; i++)
            {
                var parameters = parameterSets[i];
                if (parameters.GetType() != type)
                {
                    throw new ArgumentException("Every parameter object of a batch is of one type.", nameof(parameterSets));
                }

                var command = batch.CreateBatchCommand();
                command.CommandText = sql;
                foreach (var property in properties)
                {
                    var parameter = command.CreateParameter();
                    parameter.ParameterName = property.Name;
                    if (property.PropertyType == typeof(string))
                    {
                        parameter.DbType = DbType.String;
                    }

                    parameter.Value = property.GetValue(parameters) ?? DBNull.Value;
                    command.Parameters.Add(parameter);
                }

                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync(cancellationToken);
            for (var i = 0; i < count; i++)
            {
                affected[start + i] = batch.BatchCommands[i].RecordsAffected;
            }
        }

        return affected;
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
