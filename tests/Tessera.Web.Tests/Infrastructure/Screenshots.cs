namespace Tessera.Web.Tests.Infrastructure;

/// <summary>
/// Screenshots of the pages for a person to look at: every run writes them to <c>artifacts/screenshots/</c>. The
/// README's pictures in <c>docs/screenshots/</c> are written only when missing, or on purpose with
/// <c>TESSERA_UPDATE_SCREENSHOTS=1</c>, so that a test run does not leave the working tree changed.
/// </summary>
public static class Screenshots
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Directory { get; } = Path.Combine(RepositoryRoot, "artifacts", "screenshots");

    public static async Task<string> SaveAsync(IPage page, string name, bool fullPage = true)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = fullPage, Animations = ScreenshotAnimations.Disabled });
        return path;
    }

    /// <summary>Copies a saved screenshot to docs/screenshots for the README (see the class summary for when).</summary>
    public static void PublishToDocs(string savedPath)
    {
        var docs = Path.Combine(RepositoryRoot, "docs", "screenshots");
        var target = Path.Combine(docs, Path.GetFileName(savedPath));
        if (File.Exists(target) && Environment.GetEnvironmentVariable("TESSERA_UPDATE_SCREENSHOTS") != "1")
        {
            return;
        }

        System.IO.Directory.CreateDirectory(docs);
        File.Copy(savedPath, target, overwrite: true);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Tessera.slnx")))
            {
                return directory.FullName;
            }
        }

        return AppContext.BaseDirectory;
    }
}
