using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Tessera.Storage.Sqlite.Internal;

/// <summary>
/// Queues this process's writers to one database file before they ask SQLite for its write lock, so that they
/// wait asynchronously in turn instead of spinning on SQLITE_BUSY. Writers in other processes are still
/// serialised by SQLite itself (BEGIN IMMEDIATE and busy_timeout).
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "Gates live as long as the process; a semaphore without a wait handle holds nothing to release.")]
internal sealed class WriteGate
{
    private static readonly ConcurrentDictionary<string, WriteGate> ByDatabaseFile = new(StringComparer.Ordinal);

    private readonly SemaphoreSlim _semaphore = new(1, 1);

    private WriteGate()
    {
    }

    /// <summary>One gate per database file in the process, shared by every store that opens it.</summary>
    public static WriteGate For(string fullDatabasePath) => ByDatabaseFile.GetOrAdd(fullDatabasePath, _ => new WriteGate());

    public async Task<IDisposable> EnterAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!await _semaphore.WaitAsync(timeout, cancellationToken))
        {
            throw new TimeoutException(
                $"No write transaction could start within {timeout.TotalSeconds:0} s: another one has been open that long. " +
                "Is a write transaction being started while one is already open on the same flow?");
        }

        return new Release(_semaphore);
    }

    private sealed class Release(SemaphoreSlim semaphore) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                semaphore.Release();
            }
        }
    }
}
