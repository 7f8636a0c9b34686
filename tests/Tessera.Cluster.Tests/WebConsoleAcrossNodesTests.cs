using System.Net;
using System.Text.RegularExpressions;
using Tessera.Cluster.Tests.Infrastructure;
using Xunit;

namespace Tessera.Cluster.Tests;

/// <summary>
/// The web console behind a load balancer without sticky sessions: a page rendered by one node and posted to another.
/// Antiforgery tokens (and every other value the console protects) are made with the Data Protection key ring, which
/// the nodes share in PostgreSQL; with a key ring per node, the post would be refused with 400. These tests break
/// nothing, so they share one cluster.
/// </summary>
public sealed partial class WebConsoleAcrossNodesTests(TesseraCluster cluster) : IClassFixture<TesseraCluster>
{
    private const string AntiforgeryCookie = "tessera_antiforgery";
    private const string SessionCookie = "tessera_session";

    [Theory(Timeout = 120_000)]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    [InlineData(2, 0)]
    public async Task The_sign_in_form_from_one_node_is_accepted_by_another(int renderedBy, int postedTo)
    {
        var (render, post) = (cluster.Nodes[renderedBy], cluster.Nodes[postedTo]);
        var user = await cluster.CreateUserAsync(render, "web");
        using var browser = NewBrowser();
        var form = await GetLoginFormAsync(browser, render);

        using var signIn = await PostLoginAsync(browser, post, form, user.Email, user.Password);

        var body = await signIn.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(signIn.StatusCode == HttpStatusCode.Redirect,
            $"the sign-in form rendered by {render.Name} and posted to {post.Name} answered {(int)signIn.StatusCode}: {body}\n{cluster.Diagnostics(40)}");
        Assert.Equal("/account", signIn.Headers.Location?.OriginalString);
        var session = Cookie(signIn, SessionCookie);
        Assert.False(string.IsNullOrEmpty(session), $"{post.Name} signed in without a {SessionCookie} cookie");

        // The session made through node B's form holds on node A too: the page that needs it is served, not a redirect.
        using var account = new HttpRequestMessage(HttpMethod.Get, render.BaseUrl + "/account");
        account.Headers.Add("Cookie", $"{SessionCookie}={session}");
        using var page = await browser.SendAsync(account, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_form_whose_token_was_tampered_with_is_still_refused_by_the_other_node()
    {
        // The control for the test above: the other node checks the token; it does not just let posts through.
        var user = await cluster.CreateUserAsync(cluster.A, "forged");
        using var browser = NewBrowser();
        var form = await GetLoginFormAsync(browser, cluster.A);
        var middle = form.Token.Length / 2;
        var tampered = form with { Token = form.Token[..middle] + (form.Token[middle] == 'A' ? 'B' : 'A') + form.Token[(middle + 1)..] };

        using var signIn = await PostLoginAsync(browser, cluster.B, tampered, user.Email, user.Password);

        Assert.Equal(HttpStatusCode.BadRequest, signIn.StatusCode);
        Assert.Null(Cookie(signIn, SessionCookie));
    }

    [Fact(Timeout = 120_000)]
    public async Task Nodes_started_together_on_a_new_database_made_one_key_between_them()
    {
        // Every node has resolved its key ring by the time it is healthy: a key each would mean a node that does not know
        // another's key once the key manager's short start-up window of refreshing on unknown keys has passed.
        var keys = await cluster.Database.ScalarAsync<long>("SELECT count(*) FROM data_protection_keys WHERE friendly_name LIKE 'key-%'");
        Assert.Equal(1L, keys);
    }

    private sealed record LoginForm(string AntiforgeryCookieValue, string Token);

    /// <summary>A client that acts like a browser behind a load balancer: it carries the cookies itself, to whichever node.</summary>
    private static HttpClient NewBrowser() => new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    private static async Task<LoginForm> GetLoginFormAsync(HttpClient browser, TesseraNode node)
    {
        using var response = await browser.GetAsync(node.BaseUrl + "/login", TestContext.Current.CancellationToken);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /login on {node.Name}: {(int)response.StatusCode} {html}");
        var cookie = Cookie(response, AntiforgeryCookie);
        Assert.False(string.IsNullOrEmpty(cookie), $"GET /login on {node.Name} set no {AntiforgeryCookie} cookie");
        var field = AntiforgeryField().Match(html);
        Assert.True(field.Success, $"GET /login on {node.Name} rendered no antiforgery field: {html}");
        return new LoginForm(cookie!, WebUtility.HtmlDecode(field.Groups["value"].Value));
    }

    private static async Task<HttpResponseMessage> PostLoginAsync(HttpClient browser, TesseraNode node, LoginForm form, string email, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, node.BaseUrl + "/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Email"] = email,
                ["Password"] = password,
                ["__RequestVerificationToken"] = form.Token,
            }),
        };
        request.Headers.Add("Cookie", $"{AntiforgeryCookie}={form.AntiforgeryCookieValue}");
        return await browser.SendAsync(request, TestContext.Current.CancellationToken);
    }

    /// <summary>The value a response sets for the cookie <paramref name="name"/>, or null.</summary>
    private static string? Cookie(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.Select(value => value.Split(';', 2)[0])
                .Where(pair => pair.StartsWith(name + "=", StringComparison.Ordinal))
                .Select(pair => pair[(name.Length + 1)..])
                .LastOrDefault()
            : null;

    [GeneratedRegex(@"<input[^>]*name=""__RequestVerificationToken""[^>]*value=""(?<value>[^""]+)""", RegexOptions.CultureInvariant)]
    private static partial Regex AntiforgeryField();
}
