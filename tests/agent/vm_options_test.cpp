// `swarmboot-agent vm`: the pure parts as tables — the command line, qemu-img's and QEMU's argv, the report
// body and the status file's progress.
#include <gtest/gtest.h>

#include <sstream>

#include "swarmcore/process.hpp"
#include "vm_options.hpp"

using namespace swarmboot;
using namespace swarmboot::agent;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

const std::string kBase = "--torrent t.torrent --cache /c --mountpoint /m --overlay /o/guest.qcow2 ";

TEST(VmCommandLine, TakesTheMountOptionsAndTheGuestOptions) {
  auto r = parse_vm_command_line(split(
      kBase + "--tracker http://s/announce --peer 10.99.0.1:6881 --webseed http://s/images/x --report http://s/r "
              "--token-file /t --status-file /s.json --expected-info-hash " + std::string(40, 'a') +
      " --lt-setting a=1 --listen 6881 --qemu /usr/bin/qemu-system-x86_64 --memory 256 --cpus 2 "
      "--qemu-arg -accel --qemu-arg tcg --qemu-arg -nographic --serial /l/serial.log --reuse-overlay"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& v = std::get<VmOptions>(*r);
  EXPECT_EQ(v.mount.torrent, "t.torrent");
  EXPECT_EQ(v.mount.cache_dir, "/c");
  EXPECT_EQ(v.mount.mountpoint, "/m");
  EXPECT_TRUE(v.mount.foreground) << "the agent supervises QEMU itself: never a daemon";
  EXPECT_EQ(v.mount.trackers, std::vector<std::string>{"http://s/announce"});
  ASSERT_EQ(v.mount.peers.size(), 1u);
  EXPECT_EQ(v.mount.peers[0].port, 6881);
  EXPECT_EQ(v.mount.webseed, "http://s/images/x");
  EXPECT_EQ(v.mount.report_url, "http://s/r");
  EXPECT_EQ(v.mount.status_file, "/s.json");
  EXPECT_EQ(v.mount.lt_settings, std::vector<std::string>{"a=1"});
  EXPECT_EQ(v.mount.listen_port, 6881);
  EXPECT_EQ(v.overlay, "/o/guest.qcow2");
  EXPECT_TRUE(v.reuse_overlay);
  EXPECT_EQ(v.qemu, "/usr/bin/qemu-system-x86_64");
  EXPECT_EQ(v.memory_mib, 256);
  EXPECT_EQ(v.cpus, 2);
  EXPECT_EQ(v.qemu_args, (std::vector<std::string>{"-accel", "tcg", "-nographic"}));
  EXPECT_EQ(v.serial, "/l/serial.log");

  auto d = parse_vm_command_line(split(kBase));
  ASSERT_TRUE(d.ok());
  const auto& dv = std::get<VmOptions>(*d);
  EXPECT_EQ(dv.qemu, "qemu-system-x86_64");
  EXPECT_EQ(dv.memory_mib, 512);
  EXPECT_EQ(dv.cpus, 1);
  EXPECT_FALSE(dv.reuse_overlay);
  EXPECT_TRUE(dv.serial.empty());
  EXPECT_TRUE(std::holds_alternative<HelpRequest>(*parse_vm_command_line({"--help"})));
}

TEST(VmCommandLine, RejectsBadInputNamingTheFlag) {
  const struct {
    std::string args;
    const char* says;
  } cases[] = {
      {"--torrent t --cache /c --mountpoint /m", "overlay"},
      {"--cache /c --mountpoint /m --overlay /o", "torrent"},
      {kBase + "--memory 8", "--memory"},
      {kBase + "--cpus 0", "--cpus"},
      {kBase + "--peer nope", "--peer"},
      {kBase + "--listen 70000", "--listen"},
      {kBase + "--expected-info-hash xyz", "--expected-info-hash"},
      {kBase + "--token-file /t", "--token-file needs --report"},
      {kBase + "--serial /a,b.log", "--serial"},
      {kBase + "--bogus", "bogus"},
  };
  for (const auto& c : cases) {
    auto r = parse_vm_command_line(split(c.args));
    ASSERT_FALSE(r.ok()) << c.args;
    EXPECT_NE(r.error().message.find("could not parse the command line"), std::string::npos) << c.args;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << c.args << " -> " << r.error().message;
  }
}

TEST(VmArgv, OverlayNeverOpensTheBackingFile) {
  EXPECT_EQ(describe_command(qemu_img_create_argv("qemu-img", "/m/disk", "/o/g.qcow2", 67108864)),
            "qemu-img create -q -f qcow2 -F raw -b /m/disk -u /o/g.qcow2 67108864");
}

TEST(VmArgv, QemuGetsTheOverlayAsVirtioDiskTheConsoleAndTheExtraArgsLast) {
  VmOptions v;
  v.overlay = "/o/g.qcow2";
  v.memory_mib = 256;
  v.cpus = 2;
  v.serial = "/l/serial.log";
  v.qemu_args = {"-accel", "tcg", "-nographic"};
  EXPECT_EQ(describe_command(qemu_argv(v)),
            "qemu-system-x86_64 -m 256 -smp 2 -drive file=/o/g.qcow2,format=qcow2,if=virtio "
            "-serial file:/l/serial.log -accel tcg -nographic");
  v.serial.clear();
  EXPECT_EQ(describe_command(qemu_argv(v)),
            "qemu-system-x86_64 -m 256 -smp 2 -drive file=/o/g.qcow2,format=qcow2,if=virtio -accel tcg -nographic")
      << "-nographic already puts the console on stdio; a second -serial stdio would be refused";
  v.qemu_args = {"-accel", "kvm"};
  v.overlay = "/o/a,b.qcow2";
  EXPECT_EQ(describe_command(qemu_argv(v)),
            "qemu-system-x86_64 -m 256 -smp 2 -drive file=/o/a,,b.qcow2,format=qcow2,if=virtio -serial stdio "
            "-display none -accel kvm");
  v.qemu_args = {"-display", "gtk"};
  EXPECT_EQ(qemu_argv(v).back(), "gtk");
  EXPECT_EQ(describe_command(qemu_argv(v)).find("-display none"), std::string::npos);
}

TEST(VmReport, StateStageMessageAndProgressWhenKnown) {
  EXPECT_EQ(vm_report_json("booting", "starting a VM on d", 0.25),
            R"({"message":"starting a VM on d","progress":0.25,"stage":"vm","state":"booting"})");
  EXPECT_EQ(vm_report_json("running", "up", std::nullopt), R"({"message":"up","stage":"vm","state":"running"})");
  EXPECT_EQ(progress_from_status_json(R"({"state":"downloading","progress":0.125})"), 0.125);
  EXPECT_EQ(progress_from_status_json(""), std::nullopt);
  EXPECT_EQ(progress_from_status_json("{\"state\":"), std::nullopt);
  EXPECT_EQ(progress_from_status_json(R"({"progress":"x"})"), std::nullopt);
}

}  // namespace
