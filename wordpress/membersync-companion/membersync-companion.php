<?php
/**
 * Plugin Name:       MemberSync Companion
 * Plugin URI:        https://github.com/membersync/membersync
 * Description:       Lets MemberSync keep a student's place in LearnDash (drip clock, suspension without unenrolling, step decisions) and sends it what she does there, signed.
 * Version:           1.0.0
 * Requires at least: 5.6
 * Requires PHP:      8.0
 * Author:            MemberSync
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       membersync-companion
 *
 * This program is free software; you can redistribute it and/or modify it under the terms of the GNU General
 * Public License as published by the Free Software Foundation; either version 2 of the License, or (at your
 * option) any later version.
 *
 * This program is distributed in the hope that it will be useful, but WITHOUT ANY WARRANTY; without even the
 * implied warranty of MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the GNU General Public License
 * for more details.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'MEMBERSYNC_COMPANION_VERSION', '1.0.0' );
define( 'MEMBERSYNC_COMPANION_FILE', __FILE__ );

require_once __DIR__ . '/includes/class-settings.php';
require_once __DIR__ . '/includes/class-queue.php';
require_once __DIR__ . '/includes/class-access.php';
require_once __DIR__ . '/includes/class-steps.php';
require_once __DIR__ . '/includes/class-activity.php';
require_once __DIR__ . '/includes/class-rest.php';

register_activation_hook( __FILE__, array( 'MemberSync_Companion_Queue', 'activate' ) );
register_deactivation_hook( __FILE__, array( 'MemberSync_Companion_Queue', 'deactivate' ) );

MemberSync_Companion_Settings::register();
MemberSync_Companion_Queue::register();
MemberSync_Companion_Access::register();
MemberSync_Companion_Steps::register();
MemberSync_Companion_Activity::register();
MemberSync_Companion_Rest::register();
