using Tessera.Testing;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// One real server on Kestrel at a loopback port for every test of a class (a class fixture): for what only a real
/// server shows (Kestrel refuses to send a header value it cannot encode, after the handler has run).
/// </summary>
public sealed class LoopbackApp : IAsyncLifetime
{
    public LoopbackTesseraServer Server { get; } = new();

    public ValueTask InitializeAsync()
    {
        Server.Start();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    /// <summary>Registers a user (password <see cref="LoopbackTesseraServer.Password"/>) and returns the email.</summary>
    public async Task<string> NewUserAsync()
    {
        var email = TesseraApp.NewEmail();
        using var client = Server.Api();
        await (await client.Post("/v1/auth/register", new { email, password = LoopbackTesseraServer.Password })).AssertOkJsonAsync(System.Net.HttpStatusCode.Created);
        return email;
    }

    /// <summary>Signs in through the API and returns the token.</summary>
    public async Task<string> LoginAsync(string email, string password = LoopbackTesseraServer.Password)
    {
        using var client = Server.Api();
        var body = await (await client.Post("/v1/auth/login", new { email, password })).AssertOkJsonAsync();
        return body.GetProperty("token").GetString()!;
    }

    public Task<string> LoginAdminAsync() => LoginAsync(LoopbackTesseraServer.AdminEmail, LoopbackTesseraServer.AdminPassword);

    /// <summary>A client that sends the session the way a browser does, in the cookie.</summary>
    public HttpClient Browser(string? token = null)
    {
        var client = Server.Api();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Add("Cookie", $"tessera_session={token}");
        }

        return client;
    }
}
