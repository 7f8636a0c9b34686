using System.Diagnostics;
using System.Globalization;

namespace Tessera.Samples.Desktop;

/// <summary>
/// Where the time goes between the watcher learning that the session ended and the dialog being on screen, for the
/// latency test (<c>TESSERA_LATENCY_TRACE</c>, a file): for each ended session one line
/// <c>posted=… handler=… begun=… drawn=…</c> of <see cref="Stopwatch"/> timestamps, which on Linux are the machine's monotonic
/// clock in nanoseconds, so that the test can set them against its own (the revoking call's return, the capture).
/// <list type="bullet">
/// <item><c>posted</c>: the watcher handed <c>SessionEnded</c> to the UI's <see cref="SynchronizationContext"/>;</item>
/// <item><c>handler</c>: the main loop ran it;</item>
/// <item><c>begun</c>: the dialog was built and its session begins (Terminal.Gui's <c>SessionBegun</c>);</item>
/// <item><c>drawn</c>: the dialog was laid out, drawn and written to the terminal (Terminal.Gui's <c>LayoutAndDrawComplete</c>).</item>
/// </list>
/// Off unless the variable is set: an app has no use for it.
/// </summary>
internal sealed class LatencyTrace(string path)
{
    public static LatencyTrace? FromSetting(string? path) => string.IsNullOrWhiteSpace(path) ? null : new LatencyTrace(path);

    /// <summary>
    /// Wraps the UI's context so that each posted callback knows when it was posted: the watcher posts
    /// <c>SessionEnded</c> at the moment it knows, and Terminal.Gui runs it at its loop's next turn.
    /// </summary>
    public static SynchronizationContext Wrap(SynchronizationContext context) => new PostTimingContext(context);

    /// <summary>When the callback running now on the UI thread was posted (0 when it was not posted through <see cref="Wrap"/>).</summary>
    public static long CurrentPostedAt => PostTimingContext.CurrentPostedAt;

    public void Write(long posted, long handler, long begun, long drawn) =>
        File.AppendAllText(path, string.Create(CultureInfo.InvariantCulture, $"posted={posted} handler={handler} begun={begun} drawn={drawn}\n"));

    private sealed class PostTimingContext(SynchronizationContext inner) : SynchronizationContext
    {
        [ThreadStatic]
        private static long t_postedAt;

        public static long CurrentPostedAt => t_postedAt;

        public override void Post(SendOrPostCallback d, object? state)
        {
            var postedAt = Stopwatch.GetTimestamp();
            inner.Post(_ =>
            {
                var outer = t_postedAt;
                t_postedAt = postedAt;
                try
                {
                    d(state);
                }
                finally
                {
                    t_postedAt = outer;
                }
            }, null);
        }

        public override void Send(SendOrPostCallback d, object? state) => inner.Send(d, state);

        public override SynchronizationContext CreateCopy() => new PostTimingContext(inner.CreateCopy());
    }
}
