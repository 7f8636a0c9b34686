namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// One <see cref="TesseraApp"/> for every test of a class (a class fixture). Tests that share it work on users of
/// their own (<see cref="TesseraApp.NewEmail"/>) and leave the admin's account alone.
/// </summary>
public class SharedApp : IAsyncLifetime
{
    public SharedApp()
        : this(loopback: false)
    {
    }

    // xunit wants one public constructor on a fixture.
    protected SharedApp(bool loopback) => App = new(loopback: loopback);

    public TesseraApp App { get; }

    public ValueTask InitializeAsync()
    {
        // Start the server now, so the first test does not pay for it inside its own timing.
        App.Anonymous().Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return App.DisposeAsync();
    }
}

/// <summary>One <see cref="TesseraApp"/> on a loopback port for every test of a class, for tests that need a real server.</summary>
public sealed class SharedLoopbackApp() : SharedApp(loopback: true);
