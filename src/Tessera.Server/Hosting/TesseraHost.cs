namespace Tessera.Server.Hosting;

/// <summary>
/// Where the server finds its own files. ASP.NET Core's default content root is the working directory, which is only the
/// project folder under <c>dotnet run</c>: started any other way (a service, the README's cluster command, a published
/// build started from its service directory) neither <c>appsettings.json</c> nor <c>wwwroot</c> was found, and the pages
/// came without their stylesheet and script.
/// </summary>
internal static class TesseraHost
{
    private const string ContentRootKey = "contentRoot";

    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // The folder of the program, where build and publish put appsettings.json and wwwroot; a content root
            // chosen on purpose (--contentRoot, ASPNETCORE_CONTENTROOT, DOTNET_CONTENTROOT) is kept.
            ContentRootPath = IsContentRootGiven(args) ? null : AppContext.BaseDirectory,
        });

        // A build's output has no wwwroot of its own: its static web assets manifest points at the project's, and ASP.NET
        // Core reads that manifest by itself only in Development. Read it in every environment: it is there only in build
        // output, and a published build (which has no manifest, and wwwroot beside the program) is not changed by this.
        if (!builder.Environment.IsDevelopment())
        {
            builder.WebHost.UseStaticWebAssets();
        }

        return builder;
    }

    private static bool IsContentRootGiven(string[] args) =>
        !string.IsNullOrEmpty(new ConfigurationBuilder()
            .AddEnvironmentVariables("DOTNET_")
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args)
            .Build()[ContentRootKey]);
}
