namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// One <see cref="TesseraApp"/> for every test of a class (a class fixture). Tests that share it work on users of
/// their own (<see cref="TesseraApp.NewEmail"/>) and leave the admin's account alone.
/// </summary>
public sealed class SharedApp : IAsyncLifetime
{
    public TesseraApp App { get; } = new();

    public ValueTask InitializeAsync()
    {
        // Start the server now, so the first test does not pay for it inside its own timing.
        App.Anonymous().Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();
}
