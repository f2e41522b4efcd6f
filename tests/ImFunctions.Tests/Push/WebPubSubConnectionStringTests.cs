using ImFunctions.Core.Push.WebPubSub;

namespace ImFunctions.Tests.Push;

// Parsed as Azure.Messaging.WebPubSub's ParseConnectionString does.
public class WebPubSubConnectionStringTests
{
    [TestCase("Endpoint=https://abc.webpubsub.azure.com;AccessKey=k;Version=1.0;", "https://abc.webpubsub.azure.com/")]
    [TestCase("Endpoint=http://localhost:8080;AccessKey=k;Version=1.0;", "http://localhost:8080/")]
    [TestCase("Endpoint=http://localhost;Port=8080;AccessKey=k;Version=1.0;", "http://localhost:8080/")]
    [TestCase("Endpoint=https://abc.webpubsub.azure.com/;AccessKey=k", "https://abc.webpubsub.azure.com/")]
    [TestCase(" endpoint = https://abc.webpubsub.azure.com ; ACCESSKEY = k ;;", "https://abc.webpubsub.azure.com/")]
    [TestCase("Endpoint=abc.webpubsub.azure.com;AccessKey=k", "http://abc.webpubsub.azure.com/")]
    [TestCase("Endpoint=https://abc.webpubsub.azure.com;Port=8443;AccessKey=k", "https://abc.webpubsub.azure.com:8443/")]
    [TestCase("Endpoint=https://abc.webpubsub.azure.com;AccessKey=k;NoValueHere", "https://abc.webpubsub.azure.com/")]
    public void Endpoints_are_read_as_the_dotnet_sdk_reads_them(string connectionString, string endpoint)
    {
        var parsed = WebPubSubConnectionString.Parse(connectionString);

        Assert.That(parsed.Endpoint.AbsoluteUri, Is.EqualTo(endpoint));
        Assert.That(parsed.AccessKey, Is.EqualTo("k"));
    }

    [Test]
    public void The_access_key_keeps_its_equals_signs()
    {
        var parsed = WebPubSubConnectionString.Parse("Endpoint=https://x.webpubsub.azure.com;AccessKey=ABC/def+ghi=;Version=1.0;");

        Assert.That(parsed.AccessKey, Is.EqualTo("ABC/def+ghi="));
    }

    [TestCase("AccessKey=k", "Endpoint")]
    [TestCase("Endpoint=https://x.webpubsub.azure.com", "AccessKey")]
    [TestCase("Endpoint=https://x;AccessKey=k;endpoint=https://y", "Duplicate")]
    [TestCase("Endpoint=https://x;AccessKey=k;Port=0", "Port")]
    [TestCase("Endpoint=https://x;AccessKey=k;Port=65536", "Port")]
    [TestCase("Endpoint=https://x;AccessKey=k;Port=eighty", "Port")]
    public void Bad_connection_strings_are_refused_with_the_reason(string connectionString, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => WebPubSubConnectionString.Parse(connectionString));

        Assert.That(error!.Message, Does.Contain(reason));
    }

    [Test]
    public void The_key_never_shows_in_its_string_form()
    {
        var parsed = WebPubSubConnectionString.Parse("Endpoint=https://x.webpubsub.azure.com;AccessKey=secret-key;Version=1.0;");

        Assert.That(parsed.ToString(), Does.Not.Contain("secret-key"));
    }
}
