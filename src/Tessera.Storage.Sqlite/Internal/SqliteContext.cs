using Dapper;
using Microsoft.Data.Sqlite;

namespace Tessera.Storage.Sqlite.Internal;

/// <summary>The connection and transaction that every store of one <see cref="SqliteStoreTransaction"/> works in.</summary>
internal sealed class SqliteContext(SqliteConnection connection, SqliteTransaction transaction)
{
    public SqliteConnection Connection { get; } = connection;

    public CommandDefinition Command(string sql, object? parameters, CancellationToken cancellationToken) =>
        new(sql, parameters, transaction, cancellationToken: cancellationToken);
}
