using System.Diagnostics;
using Tessera.Client;
using Terminal.Gui.App;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace Tessera.Samples.Desktop;

/// <summary>
/// The app's one window: the sign-in screen or the devices screen, and a status bar with the watcher's state. It holds
/// no session logic of its own: what a session is, when it ended and why all come from <see cref="TesseraClient"/> and
/// its <see cref="SessionWatcher"/>, so a WPF, Avalonia or MAUI app would make the same calls.
/// </summary>
internal sealed class DesktopApp : IDisposable
{
    /// <summary>
    /// How often Terminal.Gui's main loop turns. A callback posted to its <see cref="SynchronizationContext"/> (the
    /// watcher's <c>SessionEnded</c>) waits for the next turn: the loop sleeps out the rest of each turn in
    /// <c>Task.Delay(…).Wait()</c> and nothing in Terminal.Gui 2.5.0 wakes it early. Its default, 25, adds up to 40 ms
    /// to "the session ended" reaching the screen; 100 makes that at most 10 ms, for an idle loop that costs about
    /// 4% of a core instead of 3% (measured in docs/performance.md, "Clients (issue 12)"). A WPF or Avalonia dispatcher
    /// wakes at once and needs nothing like it.
    /// </summary>
    public const int DefaultIterationsPerSecond = 100;

    private readonly IApplication _app;
    private readonly TesseraClient _client;
    private readonly SessionWatcher _watcher;
    private readonly Window _window;
    private readonly Shortcut _connection;
    private readonly LatencyTrace? _trace;
    private View? _screen;

    private DesktopApp(IApplication app, TesseraClient client, LatencyTrace? trace)
    {
        _app = app;
        _client = client;
        _trace = trace;
        _watcher = client.CreateWatcher();
        _watcher.SessionEnded += OnSessionEnded;
        _watcher.StateChanged += (_, e) => ShowState(e.Current);
        _window = new Window { Title = $"Tessera desktop sample: {client.Authority.GetLeftPart(UriPartial.Authority)}", Width = Dim.Fill(), Height = Dim.Fill(1) };
        _connection = new Shortcut(Key.Empty, string.Empty, action: null, helpText: null);
        var statusBar = new StatusBar(
        [
            new Shortcut(Key.Q.WithCtrl, "Quit", () => _app.RequestStop()),
            new Shortcut(Key.F5, "Refresh", () => (_screen as DevicesScreen)?.Reload()),
            _connection,
        ]);
        ShowState(_watcher.State);
        Top = new Runnable { Width = Dim.Fill(), Height = Dim.Fill() };
        Top.Add(_window, statusBar);
    }

    /// <summary>The last email signed in with, offered again on the sign-in screen.</summary>
    public string? LastEmail { get; set; }

    public TesseraClient Client => _client;

    public IApplication App => _app;

    private Runnable Top { get; }

    /// <summary>Runs the app until the person quits. The token stays stored: the next start opens on the devices screen.</summary>
    /// <param name="client">The app's client.</param>
    /// <param name="iterationsPerSecond">See <see cref="DefaultIterationsPerSecond"/>.</param>
    /// <param name="trace">Timings of each ended session, for the latency test; null in an app.</param>
    public static void Run(TesseraClient client, int iterationsPerSecond = DefaultIterationsPerSecond, LatencyTrace? trace = null)
    {
        // Terminal.Gui reads it at every turn of its loop; it is a static of the library, not of one application.
        Application.MaximumIterationsPerSecond = (ushort)Math.Clamp(iterationsPerSecond, 1, 1000);
        using var app = Application.Create();
        app.Init();
        using var desktop = new DesktopApp(app, client, trace);
        // Inside the main loop, where Terminal.Gui has set its SynchronizationContext (it has none between Init and Run):
        // the watcher raises its events there, so that the handlers below may touch the views.
        app.AddTimeout(TimeSpan.Zero, () =>
        {
            desktop.Start();
            return false;
        });
        app.Run(desktop.Top);
    }

    public void ShowSignIn(string? notice = null) => Show(new SignInScreen(this, notice));

    public void ShowDevices(string? notice = null) => Show(new DevicesScreen(this, notice));

    public void Dispose()
    {
        _watcher.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Top.Dispose();
    }

    private void Start()
    {
        if (SynchronizationContext.Current is null)
        {
            throw new InvalidOperationException("Terminal.Gui's main loop has no SynchronizationContext: the watcher's events would arrive on the thread pool.");
        }

        if (_trace is not null)
        {
            // The watcher keeps the context that is current when it starts.
            SynchronizationContext.SetSynchronizationContext(LatencyTrace.Wrap(SynchronizationContext.Current));
        }

        _watcher.Start();
        if (_client.IsSignedIn)
        {
            ShowDevices();
        }
        else
        {
            ShowSignIn();
        }
    }

    private void Show(View screen)
    {
        if (_screen is not null)
        {
            _window.Remove(_screen);
            _screen.Dispose();
        }

        _screen = screen;
        _window.Add(screen);
        screen.SetFocus();
    }

    /// <summary>
    /// The session ended elsewhere (another device, an admin, a password change): say why in the server's words, then
    /// back to sign-in. Raised on the main loop's SynchronizationContext, once per session.
    /// </summary>
    private void OnSessionEnded(object? sender, SessionEndedEventArgs e)
    {
        var posted = LatencyTrace.CurrentPostedAt;
        var handler = Stopwatch.GetTimestamp();
        long begun = 0;
        long drawn = 0;
        void OnBegun(object? s, SessionTokenEventArgs a) => begun = begun == 0 ? Stopwatch.GetTimestamp() : begun;
        void OnDrawn(object? s, EventArgs a)
        {
            // The first draw after this point is the dialog's: Query's Run draws it as its session begins.
            drawn = drawn == 0 ? Stopwatch.GetTimestamp() : drawn;
        }

        if (_trace is not null)
        {
            _app.SessionBegun += OnBegun;
            _app.LayoutAndDrawComplete += OnDrawn;
        }

        MessageBox.Query(_app, "Session ended", e.Sentence, "OK");
        if (_trace is not null)
        {
            _app.SessionBegun -= OnBegun;
            _app.LayoutAndDrawComplete -= OnDrawn;
            _trace.Write(posted, handler, begun, drawn);
        }

        // Another copy of the app sharing the token file may have signed in again meanwhile.
        if (_client.IsSignedIn)
        {
            ShowDevices();
        }
        else
        {
            ShowSignIn();
        }
    }

    private void ShowState(SessionWatcherState state)
    {
        _connection.Title = state switch
        {
            SessionWatcherState.Live => "Live: an end of this session anywhere shows at once",
            SessionWatcherState.Connecting => "Connecting...",
            SessionWatcherState.Polling => "Polling: the event stream is refused here; checking now and then",
            SessionWatcherState.Offline => "Offline: Tessera cannot be reached. You are still signed in; retrying",
            SessionWatcherState.Ended => "Session ended",
            _ => "Signed out",
        };
        // The shortcut sizes itself to its text: a longer state needs a new layout, not only a redraw.
        _connection.SetNeedsLayout();
    }
}
