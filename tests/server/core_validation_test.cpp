// Table tests of input validation (MACs, hostnames, labels, tokens) and of the host state machine.
#include <gtest/gtest.h>

#include "core/host_state.hpp"
#include "core/validation.hpp"

namespace swarmboot::server {
namespace {

TEST(CanonicalMac, Table) {
  struct Case {
    const char* in;
    const char* want;  // nullptr: rejected
  } cases[] = {
      {"aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff"},
      {"AA:BB:CC:DD:EE:FF", "aa:bb:cc:dd:ee:ff"},
      {"aa-bb-cc-dd-ee-0f", "aa:bb:cc:dd:ee:0f"},
      {"AABB.CCDD.EEFF", "aa:bb:cc:dd:ee:ff"},
      {"aabbccddeeff", "aa:bb:cc:dd:ee:ff"},
      {"52:54:00:12:34:56", "52:54:00:12:34:56"},
      {"", nullptr},
      {"aa:bb:cc:dd:ee", nullptr},
      {"aa:bb:cc:dd:ee:fg", nullptr},
      {"aa:bb-cc:dd:ee:ff", nullptr},
      {"aa:bb:cc:dd:ee:ff:00", nullptr},
      {"aabb.ccdd-eeff", nullptr},
      {"aa:bb:cc:dd:ee:f\n", nullptr},
      {"../../etc/passwd", nullptr},
  };
  for (const auto& c : cases) {
    auto got = canonical_mac(c.in);
    if (c.want == nullptr) {
      EXPECT_FALSE(got.ok()) << c.in;
    } else {
      ASSERT_TRUE(got.ok()) << c.in << ": " << got.error().message;
      EXPECT_EQ(*got, c.want);
    }
  }
}

TEST(ValidateHostname, Table) {
  struct Case {
    std::string in;
    bool ok;
  } cases[] = {
      {"", true},
      {"web01", true},
      {"web-01.rack1.example", true},
      {"A1", true},
      {"-web", false},
      {"web-", false},
      {"web..x", false},
      {".web", false},
      {"web_01", false},
      {"web 01", false},
      {"web\nkernel", false},
      {"a${x}", false},
      {std::string(63, 'a'), true},
      {std::string(64, 'a'), false},
      {std::string(200, 'a').insert(100, "."), false},
  };
  for (const auto& c : cases) EXPECT_EQ(validate_hostname(c.in).ok(), c.ok) << c.in;
}

TEST(ParseLabel, Table) {
  struct Case {
    const char* in;
    const char* key;  // nullptr: rejected
    const char* value;
  } cases[] = {
      {"rack=r1", "rack", "r1"},       {"role=web.front", "role", "web.front"},
      {"zone=", "zone", ""},           {"rack", nullptr, nullptr},
      {"=r1", nullptr, nullptr},       {"Rack=r1", nullptr, nullptr},
      {"rack=r 1", nullptr, nullptr},  {"rack=r1\n", nullptr, nullptr},
      {"rack=${x}", nullptr, nullptr}, {"rack=a=b", nullptr, nullptr},
  };
  for (const auto& c : cases) {
    auto got = parse_label(c.in);
    if (c.key == nullptr) {
      EXPECT_FALSE(got.ok()) << c.in;
    } else {
      ASSERT_TRUE(got.ok()) << c.in << ": " << got.error().message;
      EXPECT_EQ(got->first, c.key);
      EXPECT_EQ(got->second, c.value);
    }
  }
}

TEST(ValidateToken, Table) {
  EXPECT_TRUE(validate_token("0123456789abcdef0123456789abcdef").ok());
  EXPECT_FALSE(validate_token("short").ok());
  EXPECT_FALSE(validate_token("0123456789abcdef 0123456789abcdef").ok());
  EXPECT_FALSE(validate_token("0123456789abcdef\"0123456789abcdef").ok());
}

TEST(ValidateInstallDisk, Table) {
  for (const char* good : {"", "auto", "/dev/vda", "/dev/nvme0n1", "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001",
                           "/dev/disk/by-path/pci-0000:00:04.0", "/dev/disk/by-id/wwn-0x5000c500+a"}) {
    EXPECT_TRUE(validate_install_disk(good).ok()) << good;
  }
  for (const char* bad : {"/dev/", "vda", "/etc/passwd", "/dev/../etc/shadow", "/dev/vda bad", "/dev/vda\n",
                          "/dev/$x", "/dev/\"quoted\""}) {
    EXPECT_FALSE(validate_install_disk(bad).ok()) << bad;
  }
  EXPECT_NE(validate_install_disk("/etc/passwd").error().message.find("under /dev/"), std::string::npos);
}

TEST(ValidateArch, Table) {
  EXPECT_TRUE(validate_arch_word("x86_64").ok());
  EXPECT_TRUE(validate_arch_word("i386").ok());
  EXPECT_FALSE(validate_arch_word("").ok());
  EXPECT_FALSE(validate_arch_word("x86 64").ok());
  EXPECT_FALSE(validate_arch_word("X86").ok());
}

// The whole transition table: every (mode, from, to) not listed as allowed must be refused.
TEST(HostStateMachine, TransitionTable) {
  using S = HostState;
  using M = BootMode;
  const std::vector<std::tuple<M, S, S>> allowed = {
      // diskless and hypervisor: new → booting → running; a reboot goes through booting again.
      {M::diskless, S::fresh, S::booting},
      {M::diskless, S::booting, S::running},
      {M::diskless, S::running, S::booting},
      {M::diskless, S::failed, S::booting},
      {M::hypervisor, S::fresh, S::booting},
      {M::hypervisor, S::booting, S::running},
      {M::hypervisor, S::running, S::booting},
      {M::hypervisor, S::failed, S::booting},
      // install: new → installing → installed; a failed install may be tried again.
      {M::install, S::fresh, S::installing},
      {M::install, S::installing, S::installed},
      {M::install, S::failed, S::installing},
  };
  const S states[] = {S::fresh, S::booting, S::running, S::installing, S::installed, S::failed};
  for (M mode : {M::diskless, M::install, M::hypervisor}) {
    for (S from : states) {
      for (S to : states) {
        bool want = from == to || to == S::failed;
        for (const auto& [m, f, t] : allowed) want = want || (m == mode && f == from && t == to);
        const Status got = check_transition(mode, from, to);
        EXPECT_EQ(got.ok(), want) << to_string(mode) << ": " << to_string(from) << " -> " << to_string(to);
        if (!got.ok()) {
          EXPECT_NE(got.error().message.find("could not change state from"), std::string::npos);
        }
      }
    }
  }
}

TEST(HostStateMachine, InstalledStaysInstalledUntilReimage) {
  EXPECT_FALSE(check_transition(BootMode::install, HostState::installed, HostState::installing).ok());
  EXPECT_FALSE(check_transition(BootMode::install, HostState::installed, HostState::fresh).ok());
  EXPECT_EQ(state_after_assignment(HostState::installed), HostState::installed);
  EXPECT_EQ(state_after_assignment(HostState::running), HostState::fresh);
  EXPECT_EQ(state_after_assignment(HostState::failed), HostState::fresh);
}

TEST(HostStateMachine, ParseAndPrintRoundTrip) {
  for (const char* s : {"new", "booting", "running", "installing", "installed", "failed"}) {
    auto st = parse_host_state(s);
    ASSERT_TRUE(st.ok()) << s;
    EXPECT_EQ(to_string(*st), s);
  }
  EXPECT_FALSE(parse_host_state("fresh").ok());
  EXPECT_FALSE(parse_host_state("").ok());
  for (const char* m : {"diskless", "install", "hypervisor"}) {
    auto mode = parse_boot_mode(m);
    ASSERT_TRUE(mode.ok()) << m;
    EXPECT_EQ(to_string(*mode), m);
  }
  EXPECT_FALSE(parse_boot_mode("Diskless").ok());
}

}  // namespace
}  // namespace swarmboot::server
