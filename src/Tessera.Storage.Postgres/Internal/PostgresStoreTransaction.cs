using Npgsql;
using Tessera.Core.Storage;

namespace Tessera.Storage.Postgres.Internal;

/// <summary>
/// One pooled connection with one PostgreSQL transaction. Disposing it rolls back unless it was committed and hands
/// the connection back to the pool.
/// </summary>
internal sealed class PostgresStoreTransaction : IStoreTransaction
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private bool _disposed;

    public PostgresStoreTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction, bool forWrite)
    {
        _connection = connection;
        _transaction = transaction;
        var context = new PostgresContext(connection, transaction, forWrite);
        Users = new PostgresUserStore(context);
        Sessions = new PostgresSessionStore(context);
        Audit = new PostgresAuditLog(context);
        PasswordResetTokens = new PostgresPasswordResetTokenStore(context);
    }

    public IUserStore Users { get; }

    public ISessionStore Sessions { get; }

    public IAuditLog Audit { get; }

    public IPasswordResetTokenStore PasswordResetTokens { get; }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _transaction.CommitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            // Rolls back when CommitAsync was not called (or failed); releases the row locks a writer took.
            await _transaction.DisposeAsync();
        }
        finally
        {
            await _connection.DisposeAsync();
        }
    }
}
