using System.Data.Common;
using Tessera.Core.Storage;

namespace Tessera.Storage.Relational.Internal;

/// <summary>
/// One connection with one transaction. Disposing it rolls back unless it was committed, closes the connection (back
/// to the pool) and, for a writer that holds one, releases the write lock so that the next writer may begin.
/// </summary>
internal sealed class RelationalStoreTransaction : IStoreTransaction
{
    private readonly DbConnection _connection;
    private readonly DbTransaction _transaction;
    private readonly IDisposable? _writeLock;
    private bool _disposed;

    public RelationalStoreTransaction(DbConnection connection, DbTransaction transaction, SqlDialect dialect, bool forWrite, IDisposable? writeLock)
    {
        _connection = connection;
        _transaction = transaction;
        _writeLock = writeLock;
        var context = new StoreContext(connection, transaction, dialect, forWrite);
        Users = new RelationalUserStore(context);
        Sessions = new RelationalSessionStore(context);
        Audit = new RelationalAuditLog(context);
        PasswordResetTokens = new RelationalPasswordResetTokenStore(context);
        ServiceClients = new RelationalServiceClientStore(context);
        ExternalIdentities = new RelationalExternalIdentityStore(context);
        LoopbackCodes = new RelationalLoopbackCodeStore(context);
    }

    public IUserStore Users { get; }

    public ISessionStore Sessions { get; }

    public IAuditLog Audit { get; }

    public IPasswordResetTokenStore PasswordResetTokens { get; }

    public IServiceClientStore ServiceClients { get; }

    public IExternalIdentityStore ExternalIdentities { get; }

    public ILoopbackCodeStore LoopbackCodes { get; }

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
            try
            {
                await _connection.DisposeAsync();
            }
            finally
            {
                // Only once the transaction is over, so the next writer never finds the database locked.
                _writeLock?.Dispose();
            }
        }
    }
}
