using System.Text.RegularExpressions;

namespace Tessera.Web.Tests;

/// <summary>
/// The published build, started with <c>dotnet Tessera.Server.dll</c> from a directory that is not its own, as a service
/// or the README's cluster command starts it (WebApplicationFactory sets the content root to the project folder, which no
/// deployment has).
/// </summary>
public sealed class PublishedBuildTests(PublishedBuild build, WebConsole web) : IClassFixture<PublishedBuild>
{
    [Fact]
    public async Task Started_from_another_directory_the_published_server_serves_its_styles_and_script_so_dialogs_and_live_sign_out_work()
    {
        await using var server = await build.StartAsync();
        var email = WebConsole.NewEmail("shipped");
        using (var api = new HttpClient { BaseAddress = new Uri(server.BaseUrl) })
        {
            var response = await api.PostAsync("/v1/auth/register", JsonContent(new { email, password = TesseraWebServer.Password, displayName = "Shipped" }),
                TestContext.Current.CancellationToken);
            Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        }

        // Its data went where the README says: ./data of the directory it was started from.
        Assert.True(File.Exists(Path.Combine(server.WorkingDirectory, "data", "tessera.db")), server.Output);

        await using var windows = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome, server.BaseUrl);
        await using var mac = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox, server.BaseUrl);
        var assets = new List<(string Url, int Status)>();
        windows.Response += (_, response) =>
        {
            if (response.Url.Contains("/css/", StringComparison.Ordinal) || response.Url.Contains("/js/", StringComparison.Ordinal))
            {
                lock (assets)
                {
                    assets.Add((response.Url, response.Status));
                }
            }
        };
        var onMac = await WebConsole.SignInAsync(mac, email);
        await WebConsole.OpenLiveAsync(onMac, "/account");
        var onWindows = await WebConsole.SignInAsync(windows, email);
        await WebConsole.OpenLiveAsync(onWindows, "/account/sessions");

        // The stylesheet and the script came, and the stylesheet is applied.
        lock (assets)
        {
            Assert.Contains(assets, a => a.Url.Contains("/css/tessera.css", StringComparison.Ordinal) && a.Status == 200);
            Assert.Contains(assets, a => a.Url.Contains("/js/tessera.js", StringComparison.Ordinal) && a.Status == 200);
        }

        Assert.True(await onWindows.EvaluateAsync<int>("() => [...document.styleSheets].reduce((n, s) => n + s.cssRules.length, 0)") > 20);
        await Expect(onWindows.Locator(".site-header")).ToHaveCSSAsync("display", "block");
        await Expect(onWindows.Locator(".page-actions")).ToHaveCSSAsync("display", "flex");
        await Screenshots.SaveAsync(onWindows, "published-sessions");

        // The dialog opens, and confirming it signs the other device out; its open page hears so at once.
        await onWindows.GetByRole(AriaRole.Button, new() { Name = "Sign out of all other devices" }).ClickAsync();
        var dialog = onWindows.Locator("dialog#confirm-revoke-others");
        await Expect(dialog).ToBeVisibleAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Sign out other devices" }).ClickAsync();
        await Expect(onWindows.GetByRole(AriaRole.Status)).ToHaveTextAsync("Signed out of 1 other device. This device stays signed in.");
        await Expect(onMac.Locator("#ended-message")).ToHaveTextAsync("Your session was ended from another device.", new() { Timeout = 5_000 });
        await Expect(onMac).ToHaveURLAsync(new Regex(@"/login\?ended=signed_out_other_devices"));
    }

    [Fact]
    public async Task From_another_machine_the_first_run_page_needs_the_one_time_code_from_the_log_and_refuses_a_wrong_one()
    {
        // Behind a proxy on this machine that Tessera trusts, the client is the address the proxy names.
        await using var server = await build.StartAsync(new Dictionary<string, string> { ["Tessera:ForwardedHeaders:TrustedProxies"] = "127.0.0.1" },
            bootstrapAdmin: false);
        var code = server.SetupCode;
        await using var remote = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox, server.BaseUrl);
        await remote.SetExtraHTTPHeadersAsync([new("X-Forwarded-For", "203.0.113.7")]);
        var page = await remote.NewPageAsync();

        // Without the code: only the prompt for it, and a post without it changes nothing.
        var first = await page.GotoAsync("/");
        Assert.EndsWith("/setup", page.Url, StringComparison.Ordinal);
        Assert.Equal(200, first!.Status);
        await Expect(page.GetByLabel("Setup code")).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Password")).ToHaveCountAsync(0);

        // A wrong code is refused, and the form does not appear.
        await page.GetByLabel("Setup code").FillAsync("AAAA-BBBB-CCCC");
        var wrong = await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync(), r => r.Url.Contains("/setup", StringComparison.Ordinal));
        Assert.Equal(403, wrong.Status);
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("That is not the code from the server's log.");
        await Expect(page.GetByLabel("Password")).ToHaveCountAsync(0);

        // The code from the log, typed as a person might: the form, and the first admin.
        await page.GetByLabel("Setup code").FillAsync(code.ToLowerInvariant());
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await page.GetByLabel("Email").FillAsync("first.admin@example.com");
        await page.GetByLabel("Password").FillAsync("first-violet-harbor-7");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create administrator" }).ClickAsync();
        await Expect(page).ToHaveURLAsync($"{server.BaseUrl}/admin/users");
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("You are Tessera's first administrator");

        // Gone for good, code or not.
        var gone = await page.GotoAsync($"/setup?code={code}");
        Assert.Equal(404, gone!.Status);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Page not found" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Guessing_the_first_run_code_is_throttled_like_a_login_even_for_the_right_code()
    {
        await using var server = await build.StartAsync(new Dictionary<string, string>
        {
            ["Tessera:ForwardedHeaders:TrustedProxies"] = "127.0.0.1",
            ["Tessera:RateLimiting:LoginPerIpPerMinute"] = "3",
        }, bootstrapAdmin: false);
        using var remote = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        remote.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.9");

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var wrong = await remote.GetAsync($"/setup?code=WRONG-CODE-{attempt:D4}", TestContext.Current.CancellationToken);
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, wrong.StatusCode);
        }

        var throttled = await remote.GetAsync($"/setup?code={server.SetupCode}", TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.NotNull(throttled.Headers.RetryAfter);
        Assert.DoesNotContain("name=\"Password\"", await throttled.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    private static StringContent JsonContent(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
}
