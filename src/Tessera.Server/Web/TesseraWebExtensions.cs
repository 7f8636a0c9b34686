using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

// In the hosting namespace, beside the other parts Program.cs names one line each.
namespace Tessera.Server.Hosting;

/// <summary>
/// The web console: server-rendered pages under <c>Web/Pages</c> and the stylesheet and script under <c>wwwroot</c>.
/// The pages call the same core services as the API, and check the session with the same validator on every request.
/// </summary>
internal static class TesseraWebExtensions
{
    public static IHostApplicationBuilder AddTesseraWeb(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;

        // Everything of the feature lives in Web/: the pages too. No form or query uses jQuery's "a[b]" keys, and the
        // readers of that syntax throw on a key with an unclosed bracket (a 500 from any form): they are not used.
        services.AddRazorPages(options => options.RootDirectory = "/Web/Pages").AddMvcOptions(mvc =>
        {
            mvc.ValueProviderFactories.RemoveType<JQueryFormValueProviderFactory>();
            mvc.ValueProviderFactories.RemoveType<JQueryQueryStringValueProviderFactory>();
        });

        // Forms carry an antiforgery token (the form tag helper adds it; Razor Pages check it on every POST).
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "tessera_antiforgery";
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.FormFieldName = "__RequestVerificationToken";
        });

        // The one-shot notices after an action ("Signed out of 2 other devices.") ride in a short-lived cookie.
        services.Configure<CookieTempDataProviderOptions>(options =>
        {
            options.Cookie.Name = "tessera_notice";
            options.Cookie.SameSite = SameSiteMode.Lax;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.Cookie.IsEssential = true;
        });

        // Antiforgery tokens and notices are protected with keys kept next to the database, so that a restart
        // does not invalidate the forms that are open in people's browsers. The application name is fixed (not the
        // default, the content root path), so that every node of a cluster derives the same protectors from a key ring.
        // A store that keeps the key ring itself (PostgreSQL, shared by every node: see AddTesseraStorage) configures its
        // repository; only when none did (SQLite, one node) are the keys files in the data directory.
        services.AddDataProtection().SetApplicationName("Tessera");
        services.AddOptions<KeyManagementOptions>().PostConfigure<IOptions<TesseraServerOptions>, ILoggerFactory>((keys, server, loggers) =>
            keys.XmlRepository ??= new FileSystemXmlRepository(
                new DirectoryInfo(Path.Combine(Path.GetFullPath(server.Value.DataDirectory), "keys")), loggers));
        return builder;
    }

    /// <summary>The stylesheet and script under <c>wwwroot</c>, and the JavaScript client (clients/js) at <c>/js/client/</c>.</summary>
    public static WebApplication UseTesseraStaticFiles(this WebApplication app)
    {
        app.UseStaticFiles(new StaticFileOptions
        {
            // Links carry a content hash (asp-append-version), so a changed file is a new URL; still, check daily.
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "public, max-age=86400",
        });

        // The client's modules import each other by relative URL, so they carry no content hash: browsers revalidate them.
        app.UseStaticFiles(new StaticFileOptions
        {
            RequestPath = "/js/client",
            FileProvider = new EmbeddedFileProvider(typeof(TesseraWebExtensions).Assembly, "TesseraJsClient"),
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }

    /// <summary>An error page instead of an empty error response, for a browser that asks for a page.</summary>
    public static WebApplication UseTesseraErrorPages(this WebApplication app)
    {
        // A browser that asks for a page gets a page when there is nothing there (the address is mistyped, an old link);
        // API clients keep the problem JSON that UseTesseraProblems' status code pages write around this. Only page
        // requests keep this inner one enabled (the outer one then finds a body and leaves it be).
        app.UseStatusCodePagesWithReExecute("/error/{0}");
        app.Use(static (context, next) =>
        {
            if (!WantsPage(context) && context.Features.Get<IStatusCodePagesFeature>() is { } pages)
            {
                pages.Enabled = false;
            }

            return next(context);
        });
        return app;
    }

    /// <summary>The pages under <c>Web/Pages</c>.</summary>
    public static WebApplication MapTesseraWeb(this WebApplication app)
    {
        app.MapRazorPages();
        return app;
    }

    private static readonly string[] MachinePaths = ["/v1", "/oauth2", "/openapi", "/healthz", "/readyz", "/metrics"];

    private static bool WantsPage(HttpContext context)
    {
        var request = context.Request;
        return (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase)
            && !MachinePaths.Any(prefix => request.Path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase));
    }
}
