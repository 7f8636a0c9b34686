using Microsoft.Extensions.Time.Testing;

namespace Tessera.Client.Tests.Infrastructure;

/// <summary>Records what a watcher raised, and waits (with a deadline) for a condition on it.</summary>
public sealed class WatcherProbe
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly Lock _lock = new();
    private readonly List<SessionEndedEventArgs> _ended = [];
    private readonly List<SessionWatcherState> _states = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WatcherProbe(SessionWatcher watcher)
    {
        Watcher = watcher;
        watcher.SessionEnded += (_, args) => Record(() => _ended.Add(args));
        watcher.StateChanged += (_, args) => Record(() => _states.Add(args.Current));
    }

    public SessionWatcher Watcher { get; }

    public IReadOnlyList<SessionEndedEventArgs> Ended
    {
        get
        {
            lock (_lock)
            {
                return [.. _ended];
            }
        }
    }

    public IReadOnlyList<SessionWatcherState> States
    {
        get
        {
            lock (_lock)
            {
                return [.. _states];
            }
        }
    }

    public Task<SessionEndedEventArgs> EndedAsync(FakeTimeProvider? clock = null) => UntilAsync(() => Ended is [var first, ..] ? first : null, "SessionEnded", clock);

    public Task StateAsync(SessionWatcherState state, FakeTimeProvider? clock = null) =>
        UntilAsync(() => Watcher.State == state ? (object)state : null, $"state {state} (now {Watcher.State})", clock);

    /// <summary>
    /// Waits until <paramref name="probe"/> gives a value. With a fake clock, moves it on a second at a time meanwhile:
    /// the watcher's waits (backoff, ping timeout, request timeout) then pass as they would, without real waiting.
    /// </summary>
    public async Task<T> UntilAsync<T>(Func<T?> probe, string what, FakeTimeProvider? clock = null)
        where T : class
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                changed = _changed.Task;
            }

            if (probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Waited {Deadline.TotalSeconds} s for {what}; states so far: {string.Join(", ", States)}.");
            clock?.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(changed, Task.Delay(clock is null ? 50 : 20, TestContext.Current.CancellationToken));
        }
    }

    private void Record(Action add)
    {
        lock (_lock)
        {
            add();
            _changed.TrySetResult();
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
