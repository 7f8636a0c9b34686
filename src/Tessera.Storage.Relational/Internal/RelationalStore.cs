using System.Data.Common;
using Tessera.Core.Storage;

namespace Tessera.Storage.Relational.Internal;

/// <summary>What a provider's store does the same way once it has said how to open a connection and begin a transaction.</summary>
internal static class RelationalStore
{
    /// <summary>
    /// Opens a connection, begins its transaction and hands both to a <see cref="RelationalStoreTransaction"/>, which
    /// then owns them and <paramref name="writeLock"/>; when anything fails on the way, closes what was opened and
    /// releases <paramref name="writeLock"/>.
    /// </summary>
    public static async Task<IStoreTransaction> BeginAsync<TConnection>(
        SqlDialect dialect,
        bool forWrite,
        IDisposable? writeLock,
        Func<CancellationToken, Task<TConnection>> open,
        Func<TConnection, CancellationToken, ValueTask<DbTransaction>> begin,
        CancellationToken cancellationToken)
        where TConnection : DbConnection
    {
        TConnection? connection = null;
        try
        {
            connection = await open(cancellationToken);
            var transaction = await begin(connection, cancellationToken);
            return new RelationalStoreTransaction(connection, transaction, dialect, forWrite, writeLock);
        }
        catch
        {
            try
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                }
            }
            finally
            {
                writeLock?.Dispose();
            }

            throw;
        }
    }

    /// <summary>True when a connection opens and finds the users table: the database is reachable and migrated.</summary>
    public static async Task<bool> IsReadyAsync<TConnection>(Func<CancellationToken, Task<TConnection>> open, CancellationToken cancellationToken)
        where TConnection : DbConnection
    {
        try
        {
            await using var connection = await open(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM users WHERE 1 = 0";
            await command.ExecuteScalarAsync(cancellationToken);
            return true;
        }
        catch (DbException)
        {
            // Unreachable database, refused login, or a schema that has not been migrated.
            return false;
        }
    }
}
