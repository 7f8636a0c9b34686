using System.Net.WebSockets;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Tessera.AspNetCore;

// The relying app of issue 10's benchmarks (bench/relying/run.sh, docs/performance.md "Relying apps"): Tessera.AspNetCore
// used exactly as the package's README shows, with the same tiny JSON endpoint twice, once behind RequireAuthorization
// (a Bearer token, the verdict from the app's cache under the revocation stream's lease) and once anonymous, and a
// WebSocket that Tessera.AspNetCore closes (4001 and the reason) when the session ends.
//
//   Tessera__Authority=http://127.0.0.1:5080 Tessera__ClientId=cli_… Tessera__ClientSecret=… \
//     dotnet run -c Release --project bench/Tessera.RelyingApp -- --urls http://127.0.0.1:5090
//   (any configuration source works; the script passes the secret in the environment, which keeps it out of `ps`)
//
// With --Bench:FloorHandler=true the app uses, under the same scheme name, FloorHandler instead of Tessera.AspNetCore: a
// handler that does no work at all. What that app serves is the most any authentication can serve through ASP.NET Core's
// authentication and authorization middleware on this machine, which run.sh measures beside the real one.
var builder = WebApplication.CreateBuilder(args);
var authentication = builder.Services.AddAuthentication(TesseraDefaults.AuthenticationScheme);
if (builder.Configuration.GetValue<bool>("Bench:FloorHandler"))
{
    authentication.AddScheme<AuthenticationSchemeOptions, FloorHandler>(TesseraDefaults.AuthenticationScheme, configureOptions: null);
}
else
{
    authentication.AddTessera(options => builder.Configuration.GetSection("Tessera").Bind(options));
}

builder.Services.AddAuthorization();

var app = builder.Build();
app.UseWebSockets();
app.UseAuthentication();
app.UseAuthorization();

// The same handler and the same bytes; only the authorization differs.
app.MapGet("/anonymous", () => Results.Json(Payload.Value));
app.MapGet("/authenticated", () => Results.Json(Payload.Value)).RequireAuthorization();

// Sends "open" once the session is followed, then reads until the client's close frame: when the session ends the
// helper sends the close frame (4001 and the reason) at once, and the client's answer ends this loop, which lets the
// helper finish the handshake without waiting out its one-second patience for a loop that never receives. A benchmark
// client sends its token as a Bearer header: no cookie, no browser, so the Origin check a browser-facing feed needs
// (see the sample Portal) is left out.
app.Map("/ws", async (HttpContext context) =>
{
    if (!context.WebSockets.IsWebSocketRequest)
    {
        return Results.Problem(statusCode: 400, detail: "Connect with a WebSocket.", extensions: new Dictionary<string, object?> { ["code"] = "websocket_required" });
    }

    await context.RunTesseraWebSocketAsync(async (socket, ended) =>
    {
        await socket.SendAsync(Payload.Open, WebSocketMessageType.Text, endOfMessage: true, ended);
        var buffer = new byte[256];
        while ((await socket.ReceiveAsync(buffer, ended)).MessageType != WebSocketMessageType.Close)
        {
        }
    });
    return Results.Empty;
}).RequireAuthorization();

app.Run();

/// <summary>What the two JSON endpoints answer (about 30 bytes), and the WebSocket's first message.</summary>
internal static class Payload
{
    public static readonly object Value = new { ok = true, service = "relying-app" };

    public static readonly byte[] Open = Encoding.UTF8.GetBytes("open");
}

/// <summary>
/// The floor: any request with an Authorization header is authenticated with one ticket made at start, shared by every
/// request; nothing is read, looked up or allocated. No real handler can be cheaper (nor should one share a principal
/// between requests: code that adds claims to it would change every request's user).
/// </summary>
internal sealed class FloorHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private static readonly Task<object> NoEvents = Task.FromResult(new object());

    private static readonly Task<AuthenticateResult> Authenticated = Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(
        new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "usr_floor")], TesseraDefaults.AuthenticationScheme)),
        TesseraDefaults.AuthenticationScheme)));

    private static readonly Task<AuthenticateResult> Anonymous = Task.FromResult(AuthenticateResult.NoResult());

    protected override Task<object> CreateEventsAsync() => NoEvents;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
        Request.Headers.Authorization.Count > 0 ? Authenticated : Anonymous;
}
