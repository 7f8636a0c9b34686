using Microsoft.Data.Sqlite;
using Tessera.Core.Storage;

namespace Tessera.Storage.Sqlite.Internal;

/// <summary>
/// One connection with one SQLite transaction. Disposing it rolls back unless it was committed, closes the
/// connection (back to the pool) and, for a writer, lets the next writer in.
/// </summary>
internal sealed class SqliteStoreTransaction : IStoreTransaction
{
    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _transaction;
    private readonly IDisposable? _writeLock;
    private bool _disposed;

    public SqliteStoreTransaction(SqliteConnection connection, SqliteTransaction transaction, IDisposable? writeLock)
    {
        _connection = connection;
        _transaction = transaction;
        _writeLock = writeLock;
        var context = new SqliteContext(connection, transaction);
        Users = new SqliteUserStore(context);
        Sessions = new SqliteSessionStore(context);
        Audit = new SqliteAuditLog(context);
        PasswordResetTokens = new SqlitePasswordResetTokenStore(context);
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
            // Rolls back when CommitAsync was not called (or failed).
            await _transaction.DisposeAsync();
            await _connection.DisposeAsync();
        }
        finally
        {
            // Only once the transaction is over, so the next writer never finds the database locked.
            _writeLock?.Dispose();
        }
    }
}
