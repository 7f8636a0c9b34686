using System.Net;
using System.Text.Json;

namespace Tessera.Web.Tests;

/// <summary>
/// The JavaScript client (clients/js) in headless Chromium: its <c>EventSource</c> path, with Tessera's own session cookie.
/// The page and the client's modules are served at Tessera's origin by the browser context itself (Playwright's routing
/// answers <c>/js-client/…</c> from the files in the repository), so the page is same-origin with the API as a page
/// served with Tessera would be, and the server is not changed for the test.
/// </summary>
public sealed class JsClientTests(WebConsole web)
{
    private const string Prefix = "/js-client/";

    /// <summary>
    /// Each test takes seconds; one that waits on the browser for minutes has hung, and fails with its name instead of
    /// holding the suite (a page evaluation has no timeout of its own). test.sh bounds every suite as well.
    /// </summary>
    private const int HangTimeout = 180_000;

    /// <summary>A page that signs in (or uses the console's cookie) and shows the watcher's state and what it was told.</summary>
    private const string PageHtml = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>JS client</title></head>
        <body>
          <p>State: <output id="state">idle</output></p>
          <p id="ended" data-count="0"></p>
          <script type="module">
            import { TesseraClient, SessionWatcher } from './src/index.js';
            const client = new TesseraClient({ mode: 'cookie' });
            const state = document.getElementById('state');
            const ended = document.getElementById('ended');
            const watch = () => {
              const watcher = new SessionWatcher(client);
              watcher.addEventListener('statechange', (event) => { state.textContent = event.state; });
              watcher.addEventListener('sessionended', (event) => {
                ended.textContent = event.message;
                ended.dataset.reason = event.reason;
                ended.dataset.count = String(Number(ended.dataset.count) + 1);
              });
              watcher.start();
              window.watcher = watcher;
              return watcher.transport;
            };
            window.jsClient = {
              signIn: async (email, password) => { await client.signIn(email, password); return watch(); },
              watch,
              sessions: async () => (await client.listSessions()).map((s) => ({ id: s.id, isCurrent: s.isCurrent, browser: s.browser })),
              checkNow: () => window.watcher.checkNow(),
            };
            document.documentElement.dataset.ready = 'true';
          </script>
        </body></html>
        """;

    [Fact(Timeout = HangTimeout)]
    public async Task A_page_signed_in_with_the_client_hears_on_its_EventSource_that_an_admin_ended_the_session_and_shows_the_sentence_once()
    {
        var email = WebConsole.NewEmail("jsadmin");
        var userId = await web.RegisterAsync(email, "JS Admin");
        await using var device = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome);
        var page = await OpenPageAsync(device);

        var transport = await page.EvaluateAsync<string>("([e, p]) => window.jsClient.signIn(e, p)", new[] { email, TesseraWebServer.Password });
        Assert.Equal("eventsource", transport);
        await Expect(page.Locator("#state")).ToHaveTextAsync("connected");
        Assert.DoesNotContain(await device.CookiesAsync(), cookie => cookie.Name == "tessera_session" && !cookie.HttpOnly);

        // The client lists the sessions with the cookie it never sees.
        var sessions = await page.EvaluateAsync<JsonElement>("() => window.jsClient.sessions()");
        var only = Assert.Single(sessions.EnumerateArray());
        Assert.True(only.GetProperty("isCurrent").GetBoolean());
        Assert.StartsWith("Chrome", only.GetProperty("browser").GetString());

        await AdminAsync(HttpMethod.Delete, $"/v1/admin/users/{userId}/sessions");
        await Expect(page.Locator("#ended")).ToHaveTextAsync("An administrator ended your session.");
        await Expect(page.Locator("#ended")).ToHaveAttributeAsync("data-reason", "revoked_by_admin");
        await Expect(page.Locator("#state")).ToHaveTextAsync("ended");

        // A check after the end announces nothing more.
        Assert.Equal("ended", await page.EvaluateAsync<string>("() => window.jsClient.checkNow()"));
        await Expect(page.Locator("#ended")).ToHaveAttributeAsync("data-count", "1");
        await CloseAsync(device, page);
    }

    [Fact(Timeout = HangTimeout)]
    public async Task A_page_on_the_consoles_cookie_session_hears_a_ban_and_offline_is_never_a_sign_out()
    {
        var email = WebConsole.NewEmail("jsban");
        var userId = await web.RegisterAsync(email, "JS Ban");
        await using var device = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox);
        // Signed in through the console's own form: the client has no token, only the browser's cookie.
        await WebConsole.SignInAsync(device, email);
        var page = await OpenPageAsync(device);
        Assert.Equal("eventsource", await page.EvaluateAsync<string>("() => window.jsClient.watch()"));
        await Expect(page.Locator("#state")).ToHaveTextAsync("connected");

        // The browser goes offline: a check finds no network; that is "offline", not an end.
        await device.SetOfflineAsync(true);
        Assert.Equal("offline", await page.EvaluateAsync<string>("() => window.jsClient.checkNow()"));
        await device.SetOfflineAsync(false);
        await Expect(page.Locator("#state")).ToHaveTextAsync("connected");
        await Expect(page.Locator("#ended")).ToHaveAttributeAsync("data-count", "0");

        await AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/ban", new { reason = "test" });
        await Expect(page.Locator("#ended")).ToHaveTextAsync("Your account has been banned.");
        await Expect(page.Locator("#ended")).ToHaveAttributeAsync("data-reason", "user_banned");
        await Expect(page.Locator("#ended")).ToHaveAttributeAsync("data-count", "1");
        await CloseAsync(device, page);
    }

    /// <summary>
    /// Closes the page first (its stream and timers go with it), then drops the routing without waiting for a handler
    /// still answering, so that nothing of this test is in flight when its device is closed.
    /// </summary>
    private static async Task CloseAsync(IBrowserContext device, IPage page)
    {
        await page.CloseAsync();
        await device.UnrouteAllAsync(new() { Behavior = UnrouteBehavior.IgnoreErrors });
    }

    /// <summary>A page of this device at Tessera's origin, with the client's modules answered from the repository.</summary>
    private async Task<IPage> OpenPageAsync(IBrowserContext device)
    {
        var clientRoot = ClientDirectory();
        await device.RouteAsync($"{web.BaseUrl}{Prefix}**", async route =>
        {
            var path = new Uri(route.Request.Url).AbsolutePath[Prefix.Length..];
            if (path == "page.html")
            {
                await route.FulfillAsync(new() { Status = 200, ContentType = "text/html; charset=utf-8", Body = PageHtml });
                return;
            }

            // Only the client's own modules, and nothing outside its folder.
            var file = Path.GetFullPath(Path.Combine(clientRoot, path));
            if (!path.StartsWith("src/", StringComparison.Ordinal) || !file.StartsWith(clientRoot, StringComparison.Ordinal)
                || !file.EndsWith(".js", StringComparison.Ordinal) || !File.Exists(file))
            {
                await route.FulfillAsync(new() { Status = 404, Body = "not found" });
                return;
            }

            await route.FulfillAsync(new() { Status = 200, ContentType = "text/javascript; charset=utf-8", Body = await File.ReadAllTextAsync(file) });
        });
        var page = await device.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync($"{Prefix}page.html");
        await Expect(page.Locator("html[data-ready='true']")).ToHaveCountAsync(1, new() { Timeout = 10_000 });
        Assert.Empty(errors);
        return page;
    }

    /// <summary>clients/js of this repository (found from the test's folder upwards), ending with a separator.</summary>
    private static string ClientDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Tessera.slnx")))
            {
                return Path.Combine(directory.FullName, "clients", "js") + Path.DirectorySeparatorChar;
            }
        }

        throw new InvalidOperationException($"No Tessera.slnx above {AppContext.BaseDirectory}: the tests run from the repository's build output.");
    }

    private async Task AdminAsync(HttpMethod method, string path, object? body = null)
    {
        using var client = web.Server.Api(await web.Server.LoginAsync(TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword));
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = System.Net.Http.Json.JsonContent.Create(body);
        }

        var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NoContent,
            $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
    }
}
