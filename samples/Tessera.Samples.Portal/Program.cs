using System.Net.WebSockets;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Tessera.AspNetCore;
using Tessera.Samples.Portal;

var builder = WebApplication.CreateBuilder(args);

// Everything the app needs from Tessera: its address and the service client (scopes introspect, revocations, login).
builder.Services.AddAuthentication(TesseraDefaults.AuthenticationScheme)
    .AddTessera(options => builder.Configuration.GetSection("Tessera").Bind(options));
builder.Services.AddAuthorizationBuilder()
    .AddPolicy("admin", policy => policy.RequireRole("admin"));
builder.Services.AddAntiforgery();

var app = builder.Build();
app.UseWebSockets();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();

// --- Pages ------------------------------------------------------------------------------------------------------------
app.MapGet("/signin", (HttpContext context, IAntiforgery antiforgery, string? returnUrl, string? reason) =>
    Pages.SignIn(antiforgery.GetAndStoreTokens(context), Pages.LocalOrHome(returnUrl), Pages.ReasonSentence(reason), email: null));

app.MapPost("/signin", async (HttpContext context, IAntiforgery antiforgery, TesseraSignIn signIn) =>
{
    if (!await antiforgery.IsRequestValidAsync(context))
    {
        // Another site's post (login CSRF) or a form from before the app restarted: sign no one in, offer a fresh form.
        var again = Pages.SignIn(antiforgery.GetAndStoreTokens(context), "/", Pages.StaleForm, email: null);
        return Results.Content(again.Html, "text/html; charset=utf-8", Encoding.UTF8, StatusCodes.Status400BadRequest);
    }

    var form = await context.Request.ReadFormAsync();
    var email = form["email"].ToString();
    var returnUrl = Pages.LocalOrHome(form["returnUrl"]);
    var result = await signIn.SignInAsync(context, email, form["password"].ToString(), deviceName: null);
    if (result.Succeeded)
    {
        return Results.Redirect(returnUrl);
    }

    var page = Pages.SignIn(antiforgery.GetAndStoreTokens(context), returnUrl, Pages.Refusal(result), email);
    return Results.Content(page.Html, "text/html; charset=utf-8", Encoding.UTF8,
        result.Code == "authority_unavailable" ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
}).DisableAntiforgery(); // checked above, so that the page can say so instead of a bare 400

app.MapPost("/signout", async (HttpContext context, IAntiforgery antiforgery, TesseraSignIn signIn) =>
{
    if (!await antiforgery.IsRequestValidAsync(context))
    {
        // Another site cannot sign the user out either.
        return Results.Content(Pages.StaleForm, "text/plain; charset=utf-8", Encoding.UTF8, StatusCodes.Status400BadRequest);
    }

    await signIn.SignOutAsync(context);
    return Results.Redirect("/signin?reason=signed_out");
}).DisableAntiforgery();

app.MapGet("/", (HttpContext context, IAntiforgery antiforgery) => Pages.Home(context.User, antiforgery.GetAndStoreTokens(context)))
    .RequireAuthorization();

// --- JSON API ---------------------------------------------------------------------------------------------------------
app.MapGet("/api/me", (ClaimsPrincipal user) => Results.Json(new
{
    userId = user.FindFirstValue("sub"),
    sessionId = user.FindFirstValue("sid"),
    email = user.FindFirstValue("email"),
    name = user.Identity!.Name,
    role = user.FindFirstValue("role"),
    isAdmin = user.IsInRole("admin"),
    device = new
    {
        name = user.FindFirstValue("device_name"),
        platform = user.FindFirstValue("device_platform"),
        os = user.FindFirstValue("device_os"),
        browser = user.FindFirstValue("device_browser"),
    },
})).RequireAuthorization();

app.MapGet("/api/admin/overview", (ClaimsPrincipal user) => Results.Json(new { admin = user.Identity!.Name, openFeeds = Feed.Open }))
    .RequireAuthorization("admin");

// --- The WebSocket feed: a line a second until the session ends, then close 4001 with the reason ---------------------
app.Map("/feed", async (HttpContext context) =>
{
    if (!context.WebSockets.IsWebSocketRequest)
    {
        return Results.Problem(statusCode: 400, detail: "Connect with a WebSocket.", extensions: new Dictionary<string, object?> { ["code"] = "websocket_required" });
    }

    if (!Feed.SameOrigin(context))
    {
        return Results.Problem(statusCode: 403, detail: "The feed is for pages of this site.", extensions: new Dictionary<string, object?> { ["code"] = "forbidden" });
    }

    await context.RunTesseraWebSocketAsync(Feed.RunAsync);
    return Results.Empty;
}).RequireAuthorization();

app.Run();

/// <summary>The sample's WebSocket feed.</summary>
internal static class Feed
{
    private static int _open;

    public static int Open => Volatile.Read(ref _open);

    public static async Task RunAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _open);
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            var tick = 0;
            do
            {
                var line = Encoding.UTF8.GetBytes($"tick {++tick} at {DateTimeOffset.UtcNow:HH:mm:ss}");
                await socket.SendAsync(line, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>A browser's WebSocket carries the cookie from any site: only this site's pages may open it (no Origin: not a browser).</summary>
    public static bool SameOrigin(HttpContext context)
    {
        var origin = context.Request.Headers.Origin.ToString();
        return origin.Length == 0
            || (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase));
    }
}
